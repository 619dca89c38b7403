import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ClusterHandle, createLockNamespace, startCluster } from "../../infra/test-cluster/cluster.ts";
import { controlCluster } from "../support/cluster.ts";
import { type Fault, type FaultProxy, startFaultProxy } from "../support/fault-proxy.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { checkHistory, type Grant, type History } from "./history.ts";
import { Random } from "../support/random.ts";

/**
 * Many clients fight over a few locks through two gateway replicas while the Kubernetes API,
 * etcd, the network and the gateways themselves fail underneath them. One replica reaches the
 * apiserver the way a load balancer would let it (only while its /readyz passes), the other
 * directly, as on a single-apiserver cluster or through a tunnel: it meets the restarted
 * apiserver's 403s from before its RBAC caches are filled. Every grant is recorded
 * with the interval in which its holder may act (from the acquire's answer until its last
 * acknowledged renewal's send time + TTL, or its release), and the history is checked
 * afterwards: no overlap, fencing tokens only grow, no acknowledged release forgotten, and no
 * 5xx other than 503 backend_unavailable with Retry-After.
 *
 * This suite restarts etcd and the apiserver, so it runs on a cluster of its own.
 */
const AUDIENCE = "leasegate";
const LOCKS = ["alpha", "beta", "gamma"];
const CLIENTS = 24;
const TTL_SECONDS = 3;
const DURATION_MS = Number(process.env.LEASEGATE_CONTENTION_MS ?? 70_000);
const CLIENT_TIMEOUT_MS = 2_500;
/** How far apart the two replicas' clocks are; the allowance is 2 s. */
const SKEW_MS = Number(process.env.LEASEGATE_CONTENTION_SKEW_MS ?? 1_800);
const SEED = Number(process.env.LEASEGATE_CONTENTION_SEED ?? Date.now() % 2 ** 31);
const skewedClock = join(import.meta.dirname, "../support/skewed-clock.mjs");

let cluster: ClusterHandle;
let issuer: OidcIssuer;
/** In front of the first replica: forwards only while the apiserver's /readyz passes. */
let gatedProxy: FaultProxy;
/** In front of the second replica: always forwards, like a direct connection. */
let directProxy: FaultProxy;
let namespace: string;

beforeAll(async () => {
  [cluster, issuer] = await Promise.all([startCluster(), startOidcIssuer({ defaultAudience: AUDIENCE })]);
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

describe("twenty-four clients on three locks through two gateways, under faults", () => {
  it("never grants one lock twice at once, and fencing tokens only grow", { timeout: DURATION_MS + 120_000 }, async () => {
    const rng = new Random(SEED);
    const random = () => rng.next();
    const kubeToken = (await import("node:fs")).readFileSync(cluster.gatewayKubeconfig, "utf8").match(/token: "([^"]+)"/)![1]!;
    const startGateway = (offsetMs: number, proxy: FaultProxy) =>
      startNodeGateway({
        namespace,
        server: proxy.url,
        config: {
          issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
          policy: [{ match: { sub: "client-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
          skewAllowanceSeconds: 2,
        },
        kubernetes: { requestTimeoutMs: 2_000 },
        env: {
          LEASEGATE_KUBE_TOKEN: kubeToken,
          NODE_OPTIONS: `--import ${skewedClock}`,
          LEASEGATE_TEST_CLOCK_OFFSET_MS: String(offsetMs),
        },
      });
    const gateways: GatewayHandle[] = await Promise.all([startGateway(-SKEW_MS / 2, gatedProxy), startGateway(SKEW_MS / 2, directProxy)]);
    const jwts = await Promise.all(Array.from({ length: CLIENTS }, (_, i) => issuer.mint({ sub: `client-${i}` }, { expiresIn: 3600 })));

    const history: History = { grants: [], releases: [], heldAnswers: [], responses: [] };
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
    const deadline = started + DURATION_MS;
    const now = () => performance.now() - started;

    const send = async (client: number, lock: string, op: string, body: unknown, headers: Record<string, string> = {}) => {
      const sentAt = now();
      const gateway = gateways[Math.floor(random() * gateways.length)]!;
      try {
        const res = await fetch(`${gateway.url}/locks/${lock}/${op}`, {
          method: "POST",
          headers: { authorization: `Bearer ${jwts[client]}`, "content-type": "application/json", ...headers },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
        });
        const json = (await res.json()) as Record<string, unknown>;
        const answer = { op, status: res.status, code: json.code as string | undefined, retryAfter: res.headers.get("retry-after"), sentAt, answeredAt: now() };
        history.responses.push(answer);
        return { ...answer, body: json };
      } catch {
        // Timed out, refused (a gateway down) or cut: the outcome is unknown to this client.
        history.responses.push({ op, status: 0, sentAt, answeredAt: now() });
        return undefined;
      }
    };
    const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

    const runClient = async (client: number) => {
      for (let n = 0; now() < DURATION_MS - 1_000; n++) {
        const lock = LOCKS[Math.floor(random() * LOCKS.length)]!;
        const holder = `c${client}-${n}`;
        const idempotencyKey = `${holder}-${SEED}`;
        let grant: Grant | undefined;
        /**
         * Send time of the first attempt whose outcome this client never learnt (no answer, or a
         * 503): its grant may have landed then, and a later attempt with the same key returns that
         * grant as it is (an idempotent replay), so its validity counts from that earlier send.
         */
        let unknownOutcomeSince: number | undefined;
        // Acquire, retrying the same request (same key) until granted or a patience runs out.
        for (let attempt = 0; attempt < 20 && now() < DURATION_MS - 1_000 && !grant; attempt++) {
          const sentAt = now();
          const res = await send(client, lock, "acquire", { holder, ttlSeconds: TTL_SECONDS }, { "idempotency-key": idempotencyKey });
          if (!res || res.status >= 500) unknownOutcomeSince ??= sentAt;
          if (res?.status === 200) {
            const validUntil = Math.min(res.sentAt, unknownOutcomeSince ?? res.sentAt) + TTL_SECONDS * 1000;
            grant = { lock, holder, fencingToken: String(res.body.fencingToken), token: String(res.body.token), start: res.answeredAt, end: validUntil, validUntil };
            history.grants.push(grant);
          } else if (res?.status === 409 && res.code === "lock_held") {
            history.heldAnswers.push({ lock, holder: String(res.body.holder), sentAt: res.sentAt });
            await pause(100 + random() * 400);
          } else {
            await pause(50 + random() * 200);
          }
        }
        if (!grant) continue;

        // Hold it for a while, renewing about every TTL/3, then release. A grant that may be a
        // replay is renewed at once, as the CLI does: its validity may be nearly over.
        const holdUntil = now() + 500 + random() * 3_500;
        let lost = false;
        let renewNow = unknownOutcomeSince !== undefined;
        while (now() < holdUntil && (now() < grant.validUntil || renewNow) && !lost) {
          if (!renewNow) await pause(Math.min(TTL_SECONDS * 333, Math.max(0, holdUntil - now())));
          renewNow = false;
          if (now() >= holdUntil) break;
          const res = await send(client, lock, "renew", { token: grant.token, ttlSeconds: TTL_SECONDS });
          if (res?.status === 200) {
            if (String(res.body.fencingToken) !== grant.fencingToken) grant.renewChangedFencing = true;
            grant.validUntil = Math.max(grant.validUntil, res.sentAt + TTL_SECONDS * 1000);
          } else if (res?.status === 409) {
            lost = true;
          }
        }
        // From here on the holder stops acting on the lock.
        grant.end = Math.min(now(), grant.validUntil);
        if (lost) continue;
        for (let attempt = 0; attempt < 5; attempt++) {
          const res = await send(client, lock, "release", { token: grant.token });
          if (res?.status === 200) {
            if (res.body.released === true) history.releases.push({ lock, holder, answeredAt: res.answeredAt });
            break;
          }
          if (res?.status === 409) break;
          await pause(100);
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

    const [injected] = await Promise.all([chaos(), ...Array.from({ length: CLIENTS }, (_, i) => runClient(i))]);
    for (const proxy of [gatedProxy, directProxy]) proxy.setRule(() => ({ kind: "pass" }));
    await Promise.all(gateways.map((g) => g.stop()));

    const report = checkHistory(history);
    const summary = {
      seed: SEED,
      operations: history.responses.length,
      grants: history.grants.length,
      effectiveGrants: report.effectiveGrants,
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
    expect(history.heldAnswers.length).toBeGreaterThan(0);
    expect(report.byStatus["503"] ?? 0).toBeGreaterThan(0);
    expect(faults).toBeGreaterThan(50);
  });
});
