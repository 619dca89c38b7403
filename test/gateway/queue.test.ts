import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { kubectlJson, newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway, startWorkerGateway } from "../support/gateway.ts";
import { type Call, callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * The fair queue on the real apiserver, with two gateway replicas of different runtimes sharing
 * one namespace: all queue state lives in Leases, so the line is one line whichever replica a
 * waiter talks to, and it survives a replica that dies.
 */
const AUDIENCE = "leasegate";
const TICKET_TTL_SECONDS = 3;
const POOL_PLACES = 2;
let issuer: OidcIssuer;
let node: GatewayHandle;
let workerd: GatewayHandle;
let spare: GatewayHandle;
let namespace: string;
let holder: string;

const config = () => ({
  issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
  policy: [{ match: { sub: "svc-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] }],
  skewAllowanceSeconds: 0,
  queueTicketTtlSeconds: TICKET_TTL_SECONDS,
  semaphores: [{ locks: ["pool-*"], maxHolders: POOL_PLACES }],
});

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  namespace = await newTestNamespace("queue");
  [node, workerd, spare] = await Promise.all([
    startNodeGateway({ namespace, config: config() }),
    startWorkerGateway({ namespace, config: config() }),
    startNodeGateway({ namespace, config: config() }),
  ]);
  holder = await issuer.mint({ sub: "svc-holder" });
});
afterAll(async () => {
  await Promise.all([node?.stop(), workerd?.stop(), spare?.stop()]);
  await issuer?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const waiters = async (lock: string) => (await callGateway(node.url, "GET", `/locks/${lock}`, { jwt: holder })).body.waiters as number;
async function untilWaiters(lock: string, count: number) {
  for (let tries = 0; tries < 200 && (await waiters(lock)) !== count; tries++) await sleep(50);
  expect(await waiters(lock)).toBe(count);
}

/**
 * A waiter as a client does it: waiting requests in a row, each up to `waitSeconds`, with one
 * Idempotency-Key so every request keeps the same place, until granted.
 */
async function waitInLine(gateway: () => GatewayHandle, lock: string, jwt: string, key: string, waitSeconds = 5): Promise<Call & { grantedAt: number }> {
  for (;;) {
    const answer = await callGateway(gateway().url, "POST", `/locks/${lock}/acquire`, {
      jwt,
      body: { ttlSeconds: 30, waitSeconds, holder: key },
      headers: { "idempotency-key": key },
    }).catch((err: unknown) => ({ status: 0, headers: new Headers(), body: { error: String(err) } }) as Call);
    if (answer.status === 200) return { ...answer, grantedAt: Date.now() };
    if (answer.status === 0) await sleep(100);
    else if (answer.status !== 409) throw new Error(`waiter ${key}: ${answer.status} ${JSON.stringify(answer.body)}`);
  }
}

describe("the queue across replicas on the real apiserver", () => {
  it("grants waiters spread over a Node and a workerd replica in the order they arrived, each as soon as the previous releases", async () => {
    const lock = "fifo";
    const first = await callGateway(node.url, "POST", `/locks/${lock}/acquire`, { jwt: holder, body: { ttlSeconds: 60 } });
    expect(first.status).toBe(200);
    const arrivals = ["w0", "w1", "w2", "w3", "w4", "w5"];
    const granted: Array<Promise<Call & { grantedAt: number }>> = [];
    for (const [index, name] of arrivals.entries()) {
      const jwt = await issuer.mint({ sub: `svc-${name}` });
      granted.push(waitInLine(() => (index % 2 === 0 ? node : workerd), lock, jwt, name));
      await untilWaiters(lock, index + 1);
    }
    const state = await callGateway(workerd.url, "GET", `/locks/${lock}`, { jwt: holder });
    expect((state.body.queue as Array<{ holder: string; position: number }>).map((w) => w.holder)).toEqual(arrivals);

    // Each grantee holds for a moment and releases; the next in line must follow at once.
    let releasedAt = Date.now();
    await callGateway(node.url, "POST", `/locks/${lock}/release`, { jwt: holder, body: { token: first.body.token } });
    const order: string[] = [];
    const handOvers: number[] = [];
    let previousToken = BigInt(first.body.fencingToken as string);
    for (const [index] of arrivals.entries()) {
      const grant = await Promise.race(granted.map((promise, i) => promise.then((call) => ({ call, i }))).filter((_, i) => !order.includes(arrivals[i]!)));
      order.push(arrivals[grant.i]!);
      handOvers.push(grant.call.grantedAt - releasedAt);
      const token = BigInt(grant.call.body.fencingToken as string);
      expect(token).toBeGreaterThan(previousToken);
      previousToken = token;
      await sleep(100);
      releasedAt = Date.now();
      const side = index % 2 === 0 ? workerd : node;
      expect((await callGateway(side.url, "POST", `/locks/${lock}/release`, { jwt: holder, body: { token: grant.call.body.token } })).body).toEqual({ released: true });
    }
    expect(order).toEqual(arrivals);
    console.info(`hand-over after release (ms): ${handOvers.join(", ")}`);
    // Woken by the release (the holder's ttl was 60 s, each grant's 30 s): well under a second each on this cluster.
    expect(Math.max(...handOvers)).toBeLessThan(5000);
    expect(await waiters(lock)).toBe(0);
  });

  it("keeps each waiter's ticket as a Lease kubectl lists by lock, with the waiter as holder", async () => {
    const lock = "visible";
    const held = await callGateway(node.url, "POST", `/locks/${lock}/acquire`, { jwt: holder, body: { ttlSeconds: 60 } });
    const jwt = await issuer.mint({ sub: "svc-visible" });
    const refused = await callGateway(workerd.url, "POST", `/locks/${lock}/acquire`, { jwt, body: { waitSeconds: 1, holder: "pipeline <b>#9</b>" } });
    expect(refused.status).toBe(409);
    const listed = await kubectlJson(["get", "leases", "-n", namespace, "-l", `leasegate.io/queue-for=${lock}`, "-o", "json"]);
    expect(listed.items).toHaveLength(1);
    expect(listed.items[0].spec.holderIdentity).toBe("pipeline <b>#9</b> (svc-visible)");
    expect(listed.items[0].metadata.annotations["leasegate.io/lock"]).toBe(lock);
    // Tickets are not locks: the listing of locks leaves them out.
    const locks = await callGateway(node.url, "GET", "/locks", { jwt: holder });
    expect((locks.body.items as Array<{ name: string; waiters: number }>).filter((item) => item.name !== lock && !["fifo"].includes(item.name))).toEqual([]);
    expect(await callGateway(node.url, "POST", `/locks/${lock}/leave`, { jwt, body: { ticket: refused.body.ticket } })).toMatchObject({ body: { left: true } });
    await callGateway(node.url, "POST", `/locks/${lock}/release`, { jwt: holder, body: { token: held.body.token } });
  });

  it("drops a waiter that stopped calling within the ticket TTL, and the next in line takes over then", async () => {
    const lock = "abandoned";
    const held = await callGateway(node.url, "POST", `/locks/${lock}/acquire`, { jwt: holder, body: { ttlSeconds: 60 } });
    const gone = await issuer.mint({ sub: "svc-gone" });
    const refused = await callGateway(workerd.url, "POST", `/locks/${lock}/acquire`, { jwt: gone, body: { waitSeconds: 1 } });
    expect(refused.body).toMatchObject({ position: 1, waiters: 1 });
    const patient = waitInLine(() => node, lock, await issuer.mint({ sub: "svc-patient" }), "patient", 20);
    await untilWaiters(lock, 2);
    const releasedAt = Date.now();
    await callGateway(node.url, "POST", `/locks/${lock}/release`, { jwt: holder, body: { token: held.body.token } });
    const granted = await patient;
    const waitedMs = granted.grantedAt - releasedAt;
    console.info(`next in line granted ${waitedMs} ms after the release, behind a waiter that went away (ticket TTL ${TICKET_TTL_SECONDS} s)`);
    expect(granted.body.subject).toBe("svc-patient");
    // The gone waiter's ticket ran out TICKET_TTL_SECONDS after its wait ended, before the release; not long after.
    expect(waitedMs).toBeLessThan((TICKET_TTL_SECONDS + 3) * 1000);
    expect(await waiters(lock)).toBe(0);
  });

  it("keeps the place of a waiter whose replica was killed: it comes back through another replica, still first", async () => {
    const lock = "killed-replica";
    const held = await callGateway(node.url, "POST", `/locks/${lock}/acquire`, { jwt: holder, body: { ttlSeconds: 60 } });
    const early = await issuer.mint({ sub: "svc-early" });
    let current = spare;
    const earlyWaits = waitInLine(() => current, lock, early, "early", 30);
    await untilWaiters(lock, 1);
    const late = waitInLine(() => node, lock, await issuer.mint({ sub: "svc-late" }), "late", 30);
    await untilWaiters(lock, 2);
    // The replica serving the first waiter dies mid-request; the client comes back through another one.
    current = workerd;
    await spare.kill();
    await sleep(500);
    expect(await waiters(lock)).toBe(2);
    await callGateway(node.url, "POST", `/locks/${lock}/release`, { jwt: holder, body: { token: held.body.token } });
    const first = await earlyWaits;
    expect(first.body.subject).toBe("svc-early");
    await callGateway(workerd.url, "POST", `/locks/${lock}/release`, { jwt: early, body: { token: first.body.token } });
    expect((await late).body.subject).toBe("svc-late");
  });

  it("never lets more than maxHolders hold a semaphore, with clients on both replicas, and keeps fencing tokens increasing", async () => {
    const lock = "pool-runners";
    const clients = 6;
    const rounds = 4;
    const held: Array<{ from: number; to: number; fencingToken: bigint }> = [];
    await Promise.all(
      Array.from({ length: clients }, async (_, index) => {
        const jwt = await issuer.mint({ sub: `svc-runner-${index}` });
        const side = () => (index % 2 === 0 ? node : workerd);
        for (let round = 0; round < rounds; round++) {
          const grant = await waitInLine(side, lock, jwt, `runner-${index}-${round}`, 10);
          // From the grant's answer to the release's sending: inside the real hold, whatever the delays.
          const from = Date.now();
          await sleep(150);
          const to = Date.now();
          const released = await callGateway(side().url, "POST", `/locks/${lock}/release`, { jwt, body: { token: grant.body.token } });
          expect(released.body).toEqual({ released: true });
          held.push({ from, to, fencingToken: BigInt(grant.body.fencingToken as string) });
        }
      }),
    );
    expect(held).toHaveLength(clients * rounds);
    let most = 0;
    for (const moment of held.map((hold) => hold.from)) {
      most = Math.max(most, held.filter((hold) => hold.from <= moment && moment < hold.to).length);
    }
    console.info(`semaphore of ${POOL_PLACES}: at most ${most} holders at once over ${held.length} grants`);
    expect(most).toBeLessThanOrEqual(POOL_PLACES);
    // Both places were used at once at some point: the semaphore admits more than one.
    expect(most).toBe(POOL_PLACES);
    expect(new Set(held.map((hold) => hold.fencingToken)).size).toBe(held.length);
    const state = await callGateway(node.url, "GET", `/locks/${lock}`, { jwt: holder });
    expect(state.body).toMatchObject({ status: "free", maxHolders: POOL_PLACES, holders: [], waiters: 0 });
  });
});
