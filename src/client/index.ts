/**
 * `leasegate/client`: the gateway's API for services, webhook handlers and scripts. Only fetch,
 * WebCrypto, AbortSignal and timers: it runs on Node ≥ 20, Cloudflare Workers, Deno and Bun.
 *
 * Most callers need `LeasegateClient`, one of the credentials and `withLock`; the client's
 * methods are the gateway's routes one by one, and `acquireWithinWait`, `Renewer` and
 * `releaseGrant` are the parts `withLock` is made of. Every failure is a typed LeasegateError.
 */
export { LeasegateClient, type AcquireOptions, type CallOptions, type LeasegateClientOptions } from "./leasegate-client.ts";
export { withLock, type LockObserver, type WithLockOptions } from "./with-lock.ts";
export type { LockContext } from "./held-lock.ts";
export { DEFAULT_AUDIENCE, githubActionsOidc, gitlabIdToken, staticToken, type Credentials, type GitHubActionsOidcOptions } from "./credentials.ts";
export { acquireWithinWait, type Acquired, type AcquireWithinWaitOptions, type WaitObserver } from "./acquire-within-wait.ts";
export { Renewer, type RenewerOptions } from "./renewer.ts";
export { releaseGrant, type ReleaseOutcome } from "./release-grant.ts";
export {
  CredentialsError,
  ForbiddenError,
  GatewayUnreachableError,
  InvalidRequestError,
  InvalidResponseError,
  LeaseNotManagedError,
  LeasegateError,
  LockContendedError,
  LockHeldError,
  LockLostError,
  LockNotFoundError,
  NotFoundError,
  RedirectRefusedError,
  UnauthorizedError,
  UnavailableError,
} from "./errors.ts";
export { GatewayUrlError } from "./gateway-url.ts";
export { isLockLost, isTransient } from "./failure-kinds.ts";
export { holderLabel } from "./holder-label.ts";
export { lockNameProblem } from "../locks/lock-name.ts";
export type { AcquireRequest, GatewayProblemCode, Grant, Holder, Left, LockList, LockState, Released, Verified, Waiter } from "./api-types.ts";
