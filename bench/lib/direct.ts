/**
 * The two "direct" baselines: callers that talk to the apiserver themselves, without leasegate.
 *
 * - ClientGoLocker: the loop client-go's leader election runs against a Lease, written with
 *   @kubernetes/client-node. acquire = GET, then POST (absent) or PUT (free or expired);
 *   renew = GET then PUT; release = GET then PUT (holderIdentity cleared). Every write is
 *   conditional on the resourceVersion just read; a 409 is a lost race.
 * - SameCallsLocker: exactly the Kubernetes requests the gateway itself sends, through the
 *   gateway's own Lease adapter (src/kube/lease-store.ts) in this process:
 *   acquire = GET then PUT/POST; renew = one JSON Patch; release = one JSON Patch. The
 *   difference between the gateway and this is what the gateway adds (HTTP hop, JWT
 *   verification, policy, lock tokens, serialisation).
 */
import { CoordinationV1Api, KubeConfig } from "@kubernetes/client-node";
import type { LeaseApi } from "../../src/kube/lease-api.ts";
import { type LeaseObject, microTime } from "../../src/kube/lease-codec.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { serverLeaseApi } from "../../src/kube/server-lease-api.ts";
import { kubeconfigLeaseApi } from "../../src/kube/kubeconfig-lease-api.ts";
import type { LockRecord } from "../../src/locks/lock-record.ts";
import { type GrantClaim, isStoreError } from "../../src/locks/lock-store.ts";
import { nextFencingToken } from "../../src/locks/lock-service.ts";
import { randomSecret } from "../../src/locks/lock-token.ts";

export type Outcome = "ok" | "held" | "conflict" | "lost";

/**
 * The calls of client-node's CoordinationV1Api the direct loop makes. Its times are sent as the
 * microsecond strings client-go writes (client-node's own Date handling would send milliseconds).
 */
export interface ClientNodeLeases {
  readNamespacedLease(param: { name: string; namespace: string }): Promise<LeaseObject>;
  createNamespacedLease(param: { namespace: string; body: LeaseObject }): Promise<LeaseObject>;
  replaceNamespacedLease(param: { name: string; namespace: string; body: LeaseObject }): Promise<LeaseObject>;
}

/** client-node's CoordinationV1Api from a kubeconfig file, as a direct caller would build it. */
export function clientNodeLeaseApi(kubeconfigFile: string): ClientNodeLeases {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  return kc.makeApiClient(CoordinationV1Api) as unknown as ClientNodeLeases;
}

/**
 * client-node's CoordinationV1Api for a server URL and a bearer token, with no TLS options of
 * its own: requests then go through the process-wide fetch dispatcher, which keeps connections
 * alive (the server's CA must be trusted process-wide, e.g. NODE_EXTRA_CA_CERTS). Also used for
 * the plain-HTTP counting proxy.
 */
export function clientNodeLeaseApiFor(server: string, token: string): ClientNodeLeases {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: "bench", server, skipTLSVerify: server.startsWith("http:") }],
    users: [{ name: "bench", token }],
    contexts: [{ name: "bench", cluster: "bench", user: "bench" }],
    currentContext: "bench",
  });
  return kc.makeApiClient(CoordinationV1Api) as unknown as ClientNodeLeases;
}

/** The gateway's Node default transport: client-node configured from a kubeconfig file. */
export function gatewayKubeconfigTransport(kubeconfigFile: string): LeaseApi {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigFile);
  return kubeconfigLeaseApi(kc, 5000);
}

/** The Node gateway's transport for `kubernetes.server`: a bearer token, sent with undici. */
export function gatewayServerTransport(server: string, bearerToken: string): LeaseApi {
  return serverLeaseApi(server, bearerToken, undefined, 5000);
}

function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

const time = (value: string | Date | undefined): number => (value === undefined ? Number.NaN : new Date(value).getTime());

export class ClientGoLocker {
  readonly api: ClientNodeLeases;
  readonly namespace: string;
  readonly identity: string;

  constructor(api: ClientNodeLeases, namespace: string, identity: string) {
    this.api = api;
    this.namespace = namespace;
    this.identity = identity;
  }

  async #get(name: string): Promise<LeaseObject | null> {
    try {
      return await this.api.readNamespacedLease({ name, namespace: this.namespace });
    } catch (err) {
      if (statusOf(err) === 404) return null;
      throw err;
    }
  }

  async #put(name: string, lease: LeaseObject): Promise<Outcome> {
    try {
      await this.api.replaceNamespacedLease({ name, namespace: this.namespace, body: lease });
      return "ok";
    } catch (err) {
      if (statusOf(err) === 409) return "conflict";
      throw err;
    }
  }

  /** Expiry as a timestamp comparison: renewTime + leaseDurationSeconds on this machine's clock. */
  static isLive(lease: LeaseObject, now: number): boolean {
    const spec = lease.spec ?? {};
    if (!spec.holderIdentity) return false;
    return time(spec.renewTime) + (spec.leaseDurationSeconds ?? 0) * 1000 >= now;
  }

  async acquire(name: string, ttlSeconds: number): Promise<Outcome> {
    const current = await this.#get(name);
    const now = new Date();
    if (!current) {
      try {
        await this.api.createNamespacedLease({
          namespace: this.namespace,
          body: {
            apiVersion: "coordination.k8s.io/v1",
            kind: "Lease",
            metadata: { name },
            spec: {
              holderIdentity: this.identity,
              leaseDurationSeconds: ttlSeconds,
              acquireTime: microTime(now),
              renewTime: microTime(now),
              leaseTransitions: 0,
            },
          },
        });
        return "ok";
      } catch (err) {
        if (statusOf(err) === 409) return "conflict";
        throw err;
      }
    }
    const spec = current.spec ?? {};
    if (spec.holderIdentity !== this.identity && ClientGoLocker.isLive(current, now.getTime())) return "held";
    const transitions = (spec.leaseTransitions ?? 0) + (spec.holderIdentity === this.identity ? 0 : 1);
    return this.#put(name, {
      ...current,
      spec: {
        holderIdentity: this.identity,
        leaseDurationSeconds: ttlSeconds,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    });
  }

  async renew(name: string): Promise<Outcome> {
    const current = await this.#get(name);
    if (!current || current.spec?.holderIdentity !== this.identity) return "lost";
    return this.#put(name, { ...current, spec: { ...current.spec, renewTime: microTime(new Date()) } });
  }

  /** client-go's release: holderIdentity cleared, leaseDurationSeconds 1. */
  async release(name: string): Promise<Outcome> {
    const current = await this.#get(name);
    if (!current || current.spec?.holderIdentity !== this.identity) return "lost";
    const now = microTime(new Date());
    return this.#put(name, {
      ...current,
      spec: { holderIdentity: "", leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: current.spec.leaseTransitions },
    });
  }
}

export type SameCallsGrant = GrantClaim;

export class SameCallsLocker {
  readonly store: KubeLeaseStore;
  readonly subject: string;

  /** `api`: the gateway's own transports, kubeconfigLeaseApi or the Node transport for `kubernetes.server`. */
  constructor(api: LeaseApi, namespace: string, subject: string) {
    this.store = new KubeLeaseStore(api, namespace);
    this.subject = subject;
  }

  /** GET, then PUT at the revision read (a never-seen lock is first POSTed free): the gateway's acquire, minus its decisions' bookkeeping. */
  async acquire(name: string, ttlSeconds: number): Promise<SameCallsGrant | "held" | "conflict"> {
    // Any verifier-shaped value: the direct caller writes one but never checks it (hashing it is the gateway's work).
    const verifier = randomSecret();
    let current = await this.store.get(name);
    const now = new Date();
    if (!current) {
      const free: LockRecord = { ttlSeconds, transitions: 0 };
      try {
        current = { record: free, resourceVersion: await this.store.create(name, free) };
      } catch (err) {
        if (isStoreError(err, "already_exists")) return "conflict";
        throw err;
      }
    }
    const end = current.record.renewedAt ? current.record.renewedAt.getTime() + current.record.ttlSeconds * 1000 : 0;
    if (current.record.holderIdentity && end >= now.getTime()) return "held";
    const fencingToken = nextFencingToken(current.resourceVersion);
    const record: LockRecord = {
      holderIdentity: this.subject,
      grant: { subject: this.subject, verifier, fencingToken, metadata: {} },
      ttlSeconds,
      acquiredAt: now,
      renewedAt: now,
      transitions: current.record.transitions + 1,
    };
    try {
      await this.store.replace(name, record, current.resourceVersion);
      return { holderIdentity: this.subject, verifier, fencingToken };
    } catch (err) {
      if (isStoreError(err, "conflict")) return "conflict";
      throw err;
    }
  }

  async renew(name: string, grant: SameCallsGrant): Promise<void> {
    await this.store.updateHeld(name, grant, { kind: "renew", renewedAt: new Date() });
  }

  async release(name: string, grant: SameCallsGrant): Promise<void> {
    await this.store.updateHeld(name, grant, { kind: "release" });
  }
}
