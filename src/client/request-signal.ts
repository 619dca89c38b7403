/**
 * A signal for one request: aborted after `timeoutMs` (reason: a TimeoutError) or when the
 * caller's signal aborts (its reason). `done` must be called when the request is over, so that a
 * long-lived caller signal does not collect a listener per request. (AbortSignal.any would do,
 * but not every runtime the client supports has it.)
 */
export function requestSignal(timeoutMs: number, caller?: AbortSignal): { signal: AbortSignal; done(): void } {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("the request timed out", "TimeoutError")), timeoutMs);
  const follow = () => controller.abort(caller?.reason);
  if (caller?.aborted) follow();
  else caller?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      caller?.removeEventListener("abort", follow);
    },
  };
}
