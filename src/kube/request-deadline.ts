/**
 * Runs one apiserver request (its answer and the reading of its body) under a deadline. Unlike
 * `AbortSignal.timeout`, whose timer fires (and builds a TimeoutError) even after the request is
 * long done, the timer is cleared as soon as the request settles: no work per request after it.
 */
export async function withDeadline<T>(timeoutMs: number, request: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const deadline = new AbortController();
  const timer = setTimeout(() => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")), timeoutMs);
  try {
    return await request(deadline.signal);
  } finally {
    clearTimeout(timer);
  }
}
