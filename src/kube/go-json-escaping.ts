/**
 * The apiserver applies a JSON Patch to the object as Go's encoding/json writes it, and a `test`
 * compares string values byte for byte with what the patch sent. Go writes `<`, `>`, `&`, U+2028
 * and U+2029 as `\u003c`, `\u003e`, `\u0026`, `\u2028` and `\u2029`, so a test of a holder
 * identity like `deploy <prod> (alice)` sent as plain text never matches. Escaping them the same way
 * in the request body changes no JSON value (these characters can only occur inside strings), and
 * makes every `test` compare like with like.
 */
export function escapeLikeGo(json: string): string {
  return json.replace(/[<>&\u2028\u2029]/g, (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

