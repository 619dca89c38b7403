import type { Configuration } from "@kubernetes/client-node/dist/gen/configuration.js";
import type { RequestContext } from "@kubernetes/client-node/dist/gen/http/http.js";

/**
 * A request the generated API has no call for (`/readyz`, a watch), prepared exactly as the
 * generated Lease requests are: the same server, credentials (bearer token, client certificate,
 * exec plugin) and middleware (timeout, shared TLS connections). Send it with
 * `configuration.httpApi`.
 */
export async function prepareRequest(configuration: Configuration, path: string): Promise<RequestContext> {
  let request = configuration.baseServer.makeRequestContext(path, "GET");
  await configuration.authMethods.BearerToken?.applySecurityAuthentication(request);
  await configuration.authMethods.default?.applySecurityAuthentication(request);
  for (const middleware of configuration.middleware) request = await middleware.pre(request).toPromise();
  return request;
}
