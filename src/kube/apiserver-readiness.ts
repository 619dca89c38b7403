import type { ApiserverTransport } from "./apiserver-transport.ts";
import { withDeadline } from "./request-deadline.ts";
import type { ReadinessCheck } from "./refusal-triage.ts";

/**
 * Asks the apiserver's `/readyz` through the transport the Lease calls use (the same server,
 * credentials and connections), so the answer is about the apiserver those requests reach. Every
 * identity may read `/readyz` (the default `system:public-info-viewer` binding); while the
 * apiserver warms up the RBAC check of `/readyz` itself fails, which is one more "not ready".
 */
export function apiserverReadiness(transport: ApiserverTransport, timeoutMs: number): ReadinessCheck {
  return async () => {
    const status = await withDeadline(timeoutMs, async (signal) => {
      const response = await transport("/readyz", { method: "GET", headers: {}, signal });
      // Read to the end, so the connection is free for the next request.
      await response.text();
      return response.status;
    });
    return { ready: status === 200, answer: String(status) };
  };
}
