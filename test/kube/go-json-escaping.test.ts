import { describe, expect, it } from "vitest";
import { escapeLikeGo } from "../../src/kube/go-json-escaping.ts";

describe("JSON as Go writes it", () => {
  it("escapes <, >, &, U+2028 and U+2029 as \\u sequences and changes no value", () => {
    const value = { holder: "a<b>&c\u2028d\u2029", plain: "ünïcode ✓ \"quoted\"" };
    const escaped = escapeLikeGo(JSON.stringify(value));
    expect(escaped).toBe('{"holder":"a\\u003cb\\u003e\\u0026c\\u2028d\\u2029","plain":"ünïcode ✓ \\"quoted\\""}');
    expect(JSON.parse(escaped)).toEqual(value);
  });
});
