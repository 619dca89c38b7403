import type { Context } from "hono";

/**
 * Sets headers on a request's answer after it is made. Hono's `c.header` copies a finished
 * Response whole for every header it sets, in case the Response's headers cannot be changed (a
 * fetched one's cannot); this API's answers are built with headers that can, so they are set in
 * place, and only an answer that refuses it is copied.
 */
export function setAnswerHeaders(c: Context, headers: Readonly<Record<string, string>>): void {
  if (c.finalized) {
    try {
      const answer = c.res.headers;
      for (const name in headers) answer.set(name, headers[name]!);
      return;
    } catch {
      // Immutable headers: Hono's copy below.
    }
  }
  for (const name in headers) c.header(name, headers[name]);
}
