import type { Configuration } from "@kubernetes/client-node/dist/gen/configuration.js";
import { prepareRequest } from "./raw-request.ts";
import type { ReadinessCheck } from "./refusal-triage.ts";

/**
 * Asks the apiserver's `/readyz` exactly as the Lease requests are sent: the same server,
 * credentials (bearer token, client certificate, exec plugin), middleware (timeout, shared TLS
 * connections) and transport, so the answer is about the apiserver those requests reach. Every
 * identity may read `/readyz` (the default `system:public-info-viewer` binding); while the
 * apiserver warms up the RBAC check of `/readyz` itself fails, which is one more "not ready".
 */
export function apiserverReadiness(configuration: Configuration): ReadinessCheck {
  return async () => {
    const request = await prepareRequest(configuration, "/readyz");
    const response = await configuration.httpApi.send(request).toPromise();
    // Read to the end, so the connection is free for the next request.
    await response.body.text();
    return { ready: response.httpStatusCode === 200, answer: String(response.httpStatusCode) };
  };
}
