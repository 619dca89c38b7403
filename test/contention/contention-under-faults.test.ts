import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterHandle, createLockNamespace, startCluster } from "../../infra/test-cluster/cluster.ts";
import { controlCluster } from "../support/cluster.ts";
import { type Fault, type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway, workerBundle } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { checkHistory, type Grant, type History, type WaitingRequest, type Waiter } from "./history.ts";
import { Random } from "../support/random.ts";

/**
 * Many clients fight over a few locks through three gateway replicas (two on Node, one in
 * workerd) while the Kubernetes API, etcd, the network and the gateways themselves fail
 * underneath them. One Node replica reaches the apiserver the way a load balancer would let it
 * (only while its /readyz passes), the others directly, as on a single-apiserver cluster or
 * through a tunnel: they meet the restarted apiserver's 403s from before its RBAC caches are
 * filled. Most clients try a lock and retry; a few wait in line for a lock of their own
 * (long-polling `waitSeconds`, keeping their place with one Idempotency-Key), where the others
 * sometimes try their luck too. Every grant is recorded with the interval in which its holder
 * may act (from the acquire's answer until its last acknowledged renewal's send time + TTL, or
 * its release, see grantFrom), every waiting request with what it showed of the waiter's place, and the history
 * is checked afterwards: never more holders than the lock admits, fencing tokens only grow, no
 * acknowledged release forgotten, no 5xx other than 503 backend_unavailable with Retry-After, and
 * no waiter that kept its place overtaken by a later arrival.
 *
 * This suite restarts etcd and the apiserver, so it runs on a cluster of its own.
 */
const AUDIENCE = "leasegate";
const LOCKS = ["alpha", "beta", "gamma"];
const CLIENTS = 24;
/** The lock the waiters queue for; the other clients try it now and then. */
const LINE_LOCK = "line";
const WAITERS = 8;
const WAIT_SECONDS = 2;
/** How long a waiter keeps its place after a waiting request ends (`queueTicketTtlSeconds`). */
const TICKET_TTL_SECONDS = 10;
const TTL_SECONDS = 3;
const DURATION_MS = Number(process.env.LEASEGATE_CONTENTION_MS ?? 70_000);
const CLIENT_TIMEOUT_MS = 2_500;
/** Allowance for reading the gateways' wall-clock timestamps on the test's monotonic clock. */
const CLOCK_MAPPING_MARGIN_MS = 100;
/** How far apart the two Node replicas' clocks are (workerd keeps the host's, halfway); the allowance is 2 s. */
const SKEW_MS = Number(process.env.LEASEGATE_CONTENTION_SKEW_MS ?? 1_800);
const SEED = Number(process.env.LEASEGATE_CONTENTION_SEED ?? Date.now() % 2 ** 31);
const skewedClock = join(import.meta.dirname, "../support/skewed-clock.mjs");

let cluster: ClusterHandle;
let issuer: OidcIssuer;
/** In front of the first replica: forwards only while the apiserver's /readyz passes. */
let gatedProxy: FaultProxy;
/** In front of the other replicas (the second Node one and workerd): always forwards, like a direct connection. */
let directProxy: FaultProxy;
let namespace: string;

beforeAll(async () => {
  // The Worker bundle is built meanwhile, so the workerd replica starts at once later.
  [cluster, issuer] = await Promise.all([startCluster(), startOidcIssuer({ defaultAudience: AUDIENCE }), workerBundle()]);
  namespace = "contention";
  await createLockNamespace(cluster, namespace);
  [gatedProxy, directProxy] = await Promise.all([
    startFaultProxy(cluster.server, cluster.caFile, { readinessGate: true }),
    startFaultProxy(cluster.server, cluster.caFile),
  ]);
}, 240_000);

afterAll(async () => {
  await gatedProxy?.close();
  await directProxy?.close();
  await issuer?.close();
  await cluster?.stop();
});

describe("twenty-four clients on three locks and eight waiters in line for a fourth, through Node and workerd gateways, under faults", () => {
  it("never grants a lock to more than it admits, fencing tokens only grow, and no waiter is overtaken", { timeout: DURATION_MS + 120_000 }, async () => {
    const rng = new Random(SEED);
    const random = () => rng.next();
    const kubeToken = (await import("node:fs")).readFileSync(cluster.gatewayKubeconfig, "utf8").match(/token: "([^"]+)"/)![1]!;
    const gatewayOptions = (proxy: FaultProxy) => ({
      namespace,
      server: proxy.url,
      config: {
        issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
        policy: [{ match: { sub: "client-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
        skewAllowanceSeconds: 2,
        queueTicketTtlSeconds: TICKET_TTL_SECONDS,
      },
      kubernetes: { requestTimeoutMs: 2_000 },
    });
    const startGateway = (offsetMs: number, proxy: FaultProxy) =>
      startNodeGateway({
        ...gatewayOptions(proxy),
        env: { LEASEGATE_KUBE_TOKEN: kubeToken, NODE_OPTIONS: `--import ${skewedClock}`, LEASEGATE_TEST_CLOCK_OFFSET_MS: String(offsetMs) },
      });
    // workerd keeps the host's clock: between the two skewed Node replicas.
    const gateways: GatewayHandle[] = await Promise.all([
      startGateway(-SKEW_MS / 2, gatedProxy),
      startGateway(SKEW_MS / 2, directProxy),
      startWorkerGateway({ ...gatewayOptions(directProxy), env: { LEASEGATE_KUBE_TOKEN: kubeToken } }),
    ]);
    const jwts = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => issuer.mint({ sub: `client-${i}` }, { expiresIn: 3600 })));
    const waiterJwts = await Promise.all(Array.from({ length: WAITERS }, (_, i) => issuer.mint({ sub: `client-waiter-${i}` }, { expiresIn: 3600 })));

    const history: History = { grants: [], releases: [], heldAnswers: [], responses: [], waiters: [] };
    let faults = 0;
    const faultMix = (): Fault => {
      const r = random();
      if (r < 0.03) return { kind: "status", status: 503 };
      if (r < 0.05) return { kind: "status", status: 429 };
      if (r < 0.07) return { kind: "status", status: 500 };
      if (r < 0.09) return { kind: "drop" };
      if (r < 0.12) return { kind: "drop-after-forward" };
      if (r < 0.17) return { kind: "delay", ms: 200 + Math.floor(random() * 2_800) };
      return { kind: "pass" };
    };
    for (const proxy of [gatedProxy, directProxy]) {
      proxy.setRule(() => {
        const fault = faultMix();
        if (fault.kind !== "pass") faults++;
        return fault;
      });
    }

    const started = performance.now();
    // The host's wall clock at `started`, to place the gateways' timestamps on the test's clock.
    const wallAtStart = Date.now() - (performance.now() - started);
    const deadline = started + DURATION_MS;
    const now = () => performance.now() - started;
    const answeredBy: Record<string, number> = {};

    const send = async (jwt: string, lock: string, op: string, body: unknown, headers: Record<string, string> = {}, timeoutMs = CLIENT_TIMEOUT_MS) => {
      const sentAt = now();
      const gateway = gateways[Math.floor(random() * gateways.length)]!;
      try {
        const res = await fetch(`${gateway.url}/locks/${lock}/${op}`, {
          method: "POST",
          headers: { authorization: `Bearer ${jwt}`, "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const json = (await res.json()) as Record<string, unknown>;
        const answer = { op, status: res.status, code: json.code as string | undefined, retryAfter: res.headers.get("retry-after"), sentAt, answeredAt: now() };
        history.responses.push(answer);
        answeredBy[gateway.runtime] = (answeredBy[gateway.runtime] ?? 0) + 1;
        return { ...answer, body: json };
      } catch {
        // Timed out, refused (a gateway down) or cut: the outcome is unknown to this client.
        history.responses.push({ op, status: 0, sentAt, answeredAt: now() });
        return undefined;
      }
    };
    type Sent = NonNullable<Awaited<ReturnType<typeof send>>>;
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    const noteHolder = (lock: string, res: Sent) => {
      if (typeof res.body.holder === "string") history.heldAnswers.push({ lock, holder: res.body.holder, sentAt: res.sentAt });
    };

    /**
     * The grant an acquire's 200 tells of. The holder may act on it until the lowest of two
     * bounds: the send time of the earliest request that may have made it, plus the TTL; and the
     * grant's own renewal time, read as early as the gateways' clock offsets allow, plus the
     * TTL (this one holds even for an idempotent replay of a grant made before any request this
     * client still counts, e.g. while one of its waiting requests was being answered 409).
     */
    const grantFrom = (lock: string, holder: string, res: Sent, requestedAt: number, unknownOutcomeSince: number | undefined): Grant => {
      const bySend = Math.min(res.sentAt, unknownOutcomeSince ?? res.sentAt) + TTL_SECONDS * 1000;
      const renewedAt = Date.parse(String(res.body.renewedAt)) - SKEW_MS / 2 - CLOCK_MAPPING_MARGIN_MS - wallAtStart;
      const validUntil = Math.min(bySend, renewedAt + TTL_SECONDS * 1000);
      return {
        lock,
        holder,
        fencingToken: String(res.body.fencingToken),
        token: String(res.body.token),
        requestedAt,
        transitions: Number(res.body.transitions),
        start: res.answeredAt,
        end: validUntil,
        validUntil,
      };
    };

    /**
     * Holds a grant for a while, renewing about every TTL/3, then releases it. A grant that may be
     * a replay is renewed at once, as the CLI does: its validity may be nearly over.
     */
    const holdAndRelease = async (jwt: string, grant: Grant, holdMs: number, renewAtOnce: boolean) => {
      const { lock, holder } = grant;
      const holdUntil = now() + holdMs;
      let lost = false;
      let renewNow = renewAtOnce;
      while (now() < holdUntil && (now() < grant.validUntil || renewNow) && !lost) {
        if (!renewNow) await pause(Math.min(TTL_SECONDS * 333, Math.max(0, holdUntil - now())));
        renewNow = false;
        if (now() >= holdUntil) break;
        const res = await send(jwt, lock, "renew", { token: grant.token, ttlSeconds: TTL_SECONDS });
        if (res?.status === 200) {
          if (String(res.body.fencingToken) !== grant.fencingToken) grant.renewChangedFencing = true;
          grant.validUntil = Math.max(grant.validUntil, res.sentAt + TTL_SECONDS * 1000);
        } else if (res?.status === 409) {
          lost = true;
        }
      }
      // From here on the holder stops acting on the lock.
      grant.end = Math.min(now(), grant.validUntil);
      if (lost) return;
      for (let attempt = 0; attempt < 5; attempt++) {
        const res = await send(jwt, lock, "release", { token: grant.token });
        if (res?.status === 200) {
          if (res.body.released === true) history.releases.push({ lock, holder, answeredAt: res.answeredAt });
          break;
        }
        if (res?.status === 409) break;
        await pause(100);
      }
    };

    /** A client that tries a lock and retries a while (no waiting), then holds it. */
    const runClient = async (client: number) => {
      const jwt = jwts[client]!;
      for (let n = 0; now() < DURATION_MS - 1_000; n++) {
        const lock = random() < 0.1 ? LINE_LOCK : LOCKS[Math.floor(random() * LOCKS.length)]!;
        const holder = `c${client}-${n}`;
        const idempotencyKey = `${holder}-${SEED}`;
        let grant: Grant | undefined;
        let requestedAt: number | undefined;
        /**
         * Send time of the first attempt whose outcome this client never learnt (no answer, a 5xx,
         * a 409 other than lock_held): its grant may have landed then, and a later attempt with the
         * same key returns that grant as it is (an idempotent replay), so its validity counts from
         * that earlier send.
         */
        let unknownOutcomeSince: number | undefined;
        // Acquire, retrying the same request (same key) until granted or a patience runs out.
        for (let attempt = 0; attempt < 20 && now() < DURATION_MS - 1_000 && !grant; attempt++) {
          const sentAt = now();
          requestedAt ??= sentAt;
          const res = await send(jwt, lock, "acquire", { holder, ttlSeconds: TTL_SECONDS }, { "idempotency-key": idempotencyKey });
          if (res?.status === 200) {
            grant = grantFrom(lock, holder, res, requestedAt, unknownOutcomeSince);
            history.grants.push(grant);
          } else if (res?.status === 409 && res.code === "lock_held") {
            noteHolder(lock, res);
            await pause(100 + random() * 400);
          } else {
            unknownOutcomeSince ??= sentAt;
            await pause(50 + random() * 200);
          }
        }
        if (grant) await holdAndRelease(jwt, grant, 500 + random() * 3_500, unknownOutcomeSince !== undefined);
      }
    };

    /**
     * A client that waits in line: waiting requests in a row with one Idempotency-Key (so one
     * place), each at once after the last (a 409 says Retry-After: 0), until granted; then it holds
     * the lock briefly and queues again with a new key. At the end of the run it leaves the line.
     */
    const runWaiter = async (index: number) => {
      const jwt = waiterJwts[index]!;
      for (let n = 0; now() < DURATION_MS - 1_000; n++) {
        const holder = `w${index}-${n}`;
        const idempotencyKey = `${holder}-${SEED}`;
        const waiter: Waiter = { lock: LINE_LOCK, holder, requests: [] };
        history.waiters.push(waiter);
        let grant: Grant | undefined;
        /**
         * As for the other clients, but cleared by a 409 lock_held: that request read the lock after
         * any write an earlier request of this waiter could still make was sent, and found it not
         * granted. (A write the network held back even longer is what grantFrom's second bound is for.)
         */
        let unknownOutcomeSince: number | undefined;
        while (!grant && now() < DURATION_MS - 1_000) {
          const sentAt = now();
          const res = await send(
            jwt,
            LINE_LOCK,
            "acquire",
            { holder, ttlSeconds: TTL_SECONDS, waitSeconds: WAIT_SECONDS },
            { "idempotency-key": idempotencyKey },
            WAIT_SECONDS * 1000 + CLIENT_TIMEOUT_MS,
          );
          const outcome: WaitingRequest["outcome"] =
            res?.status === 200
              ? "granted"
              : res?.status === 409 && res.code === "lock_held"
                ? typeof res.body.position === "number"
                  ? "queued"
                  : "refused"
                : "unknown";
          waiter.requests.push({ sentAt, answeredAt: res?.answeredAt ?? now(), waitMs: WAIT_SECONDS * 1000, outcome });
          if (res && outcome === "granted") {
            grant = grantFrom(LINE_LOCK, holder, res, waiter.requests[0]!.sentAt, unknownOutcomeSince);
            history.grants.push(grant);
          } else if (res && outcome !== "unknown") {
            noteHolder(LINE_LOCK, res);
            unknownOutcomeSince = undefined;
          } else {
            unknownOutcomeSince ??= sentAt;
            await pause(50 + random() * 200);
          }
        }
        if (grant) {
          await holdAndRelease(jwt, grant, 200 + random() * 800, unknownOutcomeSince !== undefined);
          continue;
        }
        waiter.leftAt = now();
        for (let attempt = 0; attempt < 3; attempt++) {
          const res = await send(jwt, LINE_LOCK, "leave", {}, { "idempotency-key": idempotencyKey });
          if (res?.status === 200) break;
        }
      }
    };

    const chaos = async () => {
      const at = (fraction: number) => pause(Math.max(0, started + DURATION_MS * fraction - performance.now()));
      const injected: string[] = [];
      await at(0.2);
      await controlCluster("apiserver", "restart", cluster);
      injected.push(`apiserver restarted by ${(now() / 1000).toFixed(1)}s`);
      await at(0.4);
      const victim = 0;
      await gateways[victim]!.kill();
      injected.push(`gateway SIGKILLed at ${(now() / 1000).toFixed(1)}s`);
      gateways[victim] = await startGateway(-SKEW_MS / 2, gatedProxy);
      await at(0.6);
      await controlCluster("etcd", "restart", cluster);
      injected.push(`etcd restarted by ${(now() / 1000).toFixed(1)}s`);
      return injected;
    };

    const [injected] = await Promise.all([
      chaos(),
      ...Array.from({ length: CLIENTS }, (_, i) => runClient(i)),
      ...Array.from({ length: WAITERS }, (_, i) => runWaiter(i)),
    ]);
    for (const proxy of [gatedProxy, directProxy]) proxy.setRule(() => ({ kind: "pass" }));
    await Promise.all(gateways.map((g) => g.stop()));

    const report = checkHistory(history, { ticketTtlMs: TICKET_TTL_SECONDS * 1000 });
    const waiterGrants = history.grants.filter((g) => history.waiters.some((w) => w.holder === g.holder));
    const summary = {
      seed: SEED,
      operations: history.responses.length,
      grants: history.grants.length,
      effectiveGrants: report.effectiveGrants,
      waiters: {
        places: history.waiters.length,
        waitingRequests: history.waiters.reduce((sum, w) => sum + w.requests.length, 0),
        granted: waiterGrants.length,
        left: history.waiters.filter((w) => w.leftAt !== undefined).length,
        grantsToOthersOnTheirLock: history.grants.filter((g) => g.lock === LINE_LOCK).length - waiterGrants.length,
      },
      fifo: report.fifo,
      answeredBy,
      releasesAcknowledged: history.releases.length,
      proxyFaults: faults,
      turnedAwayWhileApiserverNotReady: gatedProxy.counts().notReady ?? 0,
      // 403s the restarted apiserver gave before its RBAC caches were filled, as they reached each replica.
      apiserverRefusals: { gated: gatedProxy.answers().api[403] ?? 0, direct: directProxy.answers().api[403] ?? 0 },
      injected,
      clientTimeoutsOrCuts: history.responses.filter((r) => r.status === 0).length,
      byStatus: report.byStatus,
      violations: report.violations.length,
    };
    console.log(`contention under faults: ${JSON.stringify(summary)}`);
    if (report.violations.length > 0) {
      // The gateways' own account of anything worse than an unavailable backend.
      const errors = gateways.flatMap((g) => g.logs().split("\n")).filter((line) => line.includes('"level":"error"') && !line.includes("backend_unavailable"));
      console.log(errors.slice(0, 20).join("\n"));
    }
    expect(report.violations).toEqual([]);
    // The run must have exercised what it claims to.
    expect(report.effectiveGrants).toBeGreaterThan(CLIENTS);
    expect(waiterGrants.length).toBeGreaterThan(WAITERS);
    expect(report.fifo.checkedPairs).toBeGreaterThan(WAITERS);
    expect(answeredBy.workerd ?? 0).toBeGreaterThan(0);
    expect(history.heldAnswers.length).toBeGreaterThan(0);
    expect(report.byStatus["503"] ?? 0).toBeGreaterThan(0);
    expect(faults).toBeGreaterThan(50);
  });
});
