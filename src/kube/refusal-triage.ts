import { isRefusal, passedAuthorization, TransientRefusal, type Verb } from "./kube-errors.ts";
import type { LeaseApi } from "./lease-api.ts";

/** What the apiserver's `/readyz` said: only a 200 means ready. */
export interface Readiness {
  ready: boolean;
  /** The status it answered, or "nothing (…)" when it did not answer. */
  answer: string;
}

export type ReadinessCheck = () => Promise<Readiness>;

export interface RefusalTriageOptions {
  /** Monotonic milliseconds; a test passes its own. */
  now?: () => number;
}

/**
 * How long a starting apiserver may refuse requests before it judges permissions properly. A
 * kube-apiserver listens before its RBAC caches are filled (`/readyz` reports them as
 * `informer-sync` and `poststarthook/rbac/bootstrap-roles`) and meanwhile answers 403 to every
 * identity but system:masters; that lasts seconds, far less than this.
 */
export const START_UP_WINDOW_MS = 60_000;

/**
 * Tells a 403 from an apiserver that cannot judge permissions yet (transient: the caller gets 503
 * and retries) from a permission the gateway's identity really lacks (502 `backend_forbidden`,
 * for the operator to fix). Wraps the LeaseApi so every transport and runtime gets it.
 *
 * On a 403 the apiserver's own `/readyz` is asked, with the same credentials and transport:
 * - not ready (anything but 200; while warming up `/readyz` itself answers 403 or 500): the
 *   refusal is transient. Believed for at most START_UP_WINDOW_MS of refusals of this permission
 *   in a row, so a gateway that cannot read `/readyz` (a proxy or RBAC that hides it) still
 *   reports a missing permission instead of being "unavailable" forever.
 * - ready: the request is sent once more. That is safe for writes too: a 403 comes from
 *   authorization or admission, both of which run before the request reaches storage, so the
 *   refused request wrote nothing. Only a second 403 counts as a missing permission — unless
 *   this permission was used successfully within START_UP_WINDOW_MS: behind a load balancer,
 *   `/readyz` and the retry can reach another apiserver than the one still warming up.
 */
export function triageRefusals(api: LeaseApi, readiness: ReadinessCheck, options: RefusalTriageOptions = {}): LeaseApi {
  const now = options.now ?? (() => performance.now());
  /** When each permission ("verb namespace") last got an answer past authorization. */
  const provenAt = new Map<string, number>();
  /** When the current run of refusals of each permission began (cleared by a proof). */
  const refusedSince = new Map<string, number>();
  let pendingReadiness: Promise<Readiness> | undefined;

  // Concurrent refusals (a restart refuses everyone at once) share one /readyz request.
  const askReadiness = () =>
    (pendingReadiness ??= readiness()
      // Only the error's name: its message may carry the apiserver's address, and this text reaches callers.
      .catch((err: unknown): Readiness => ({ ready: false, answer: `nothing (${err instanceof Error ? err.name : "no response"})` }))
      .finally(() => {
        pendingReadiness = undefined;
      }));

  const observe = (permission: string, err: unknown) => {
    if (passedAuthorization(err)) prove(permission);
  };
  const prove = (permission: string) => {
    provenAt.set(permission, now());
    refusedSince.delete(permission);
  };

  /** The answer, or the 403 that refused the request; any other failure is thrown, after noting what it proves. */
  async function attempt<T>(permission: string, request: () => Promise<T>): Promise<{ answer: T } | { refusal: unknown }> {
    try {
      const answer = await request();
      prove(permission);
      return { answer };
    } catch (err) {
      if (!isRefusal(err)) {
        observe(permission, err);
        throw err;
      }
      return { refusal: err };
    }
  }

  async function send<T>(verb: Verb, namespace: string, request: () => Promise<T>): Promise<T> {
    const permission = `${verb} ${namespace}`;
    const first = await attempt(permission, request);
    if ("answer" in first) return first.answer;
    const refusedAt = now();
    // Read once: a concurrent success may clear the run while /readyz is being asked.
    const runStartedAt = refusedSince.get(permission) ?? refusedAt;
    refusedSince.set(permission, runStartedAt);
    const apiserver = await askReadiness();
    if (!apiserver.ready) {
      if (refusedAt - runStartedAt < START_UP_WINDOW_MS) {
        throw new TransientRefusal(`and its /readyz answered ${apiserver.answer}`, first.refusal);
      }
      throw first.refusal;
    }
    const second = await attempt(permission, request);
    if ("answer" in second) return second.answer;
    const proven = provenAt.get(permission);
    if (proven !== undefined && refusedAt - proven < START_UP_WINDOW_MS) {
      const seconds = Math.max(1, Math.round((refusedAt - proven) / 1000));
      throw new TransientRefusal(`although it allowed the same ${seconds} s earlier (an apiserver behind a load balancer may still be starting)`, second.refusal);
    }
    throw second.refusal;
  }

  return {
    readNamespacedLease: (param) => send("get", param.namespace, () => api.readNamespacedLease(param)),
    createNamespacedLease: (param) => send("create", param.namespace, () => api.createNamespacedLease(param)),
    patchNamespacedLease: (param) => send("patch", param.namespace, () => api.patchNamespacedLease(param)),
    deleteNamespacedLease: (param) => send("delete", param.namespace, () => api.deleteNamespacedLease(param)),
    listNamespacedLease: (param) => send("list", param.namespace, () => api.listNamespacedLease(param)),
    watchLease: (param) => send("watch", param.namespace, () => api.watchLease(param)),
  };
}
