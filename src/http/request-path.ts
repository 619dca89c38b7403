/**
 * The path of a request's URL, as `new URL(url).pathname` gives it (percent-encoded as sent, not
 * decoded as Hono's `c.req.path` is), without parsing the URL again: a Request's `url` is already
 * serialized, so its path runs from the first '/' after the authority to the query or fragment.
 */
export function requestPath(url: string): string {
  const authority = url.indexOf("//");
  if (authority === -1) return new URL(url).pathname;
  const start = url.indexOf("/", authority + 2);
  if (start === -1) return "/";
  let end = start;
  while (end < url.length) {
    const code = url.charCodeAt(end);
    if (code === QUESTION_MARK || code === NUMBER_SIGN) break;
    end++;
  }
  return url.slice(start, end);
}

const QUESTION_MARK = 0x3f;
const NUMBER_SIGN = 0x23;
