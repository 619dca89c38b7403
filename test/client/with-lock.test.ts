import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  acquireWithinWait,
  ForbiddenError,
  GatewayUnreachableError,
  InvalidRequestError,
  LeasegateClient,
  LockHeldError,
  LockLostError,
  LockNotFoundError,
  staticToken,
  UnauthorizedError,
  withLock,
  type LockContext,
  type ReleaseOutcome,
} from "../../src/client/index.ts";
import { type CliGateway, startCliGateway, cliGatewayConfig } from "../support/cli-gateway.ts";
import { startNodeGateway } from "../support/gateway.ts";
import { closedPort } from "../support/ports.ts";

/**
 * `withLock` and the client's routes against the real gateway and kube-apiserver: acquiring,
 * renewing in the background, releasing whatever the work does, waiting in line, noticing a loss
 * the moment it happens, and a typed error for every refusal.
 */
let ctx: CliGateway;
let client: LeasegateClient;
let other: LeasegateClient;
let ops: LeasegateClient;

beforeAll(async () => {
  ctx = await startCliGateway("client-with-lock");
  client = new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(await ctx.jwt("service-a")) });
  other = new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(await ctx.jwt("service-b")) });
  ops = new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(ctx.opsJwt) });
});
afterAll(() => ctx?.close());

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Resolves once the lock's status is `status` (polled as an admin would look). */
async function until(lock: string, status: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await ctx.lockStatus(lock)) !== status) {
    if (Date.now() > deadline) throw new Error(`${lock} did not become ${status} within ${timeoutMs} ms`);
    await sleep(25);
  }
}

describe("withLock", () => {
  it("holds the lock while the work runs, returns its value, and releases it", async () => {
    const seen: Array<{ fencingToken: string; status: string; aborted: boolean; ttlSeconds: number; holder?: string }> = [];
    const released: ReleaseOutcome[] = [];
    const value = await withLock(
      client,
      "deploy-prod",
      async ({ fencingToken, signal, name, grant }) => {
        seen.push({ fencingToken, status: await ctx.lockStatus(name), aborted: signal.aborted, ttlSeconds: grant.ttlSeconds, holder: grant.holder });
        return { deployed: "v1.4" };
      },
      { holder: "deployer\n#7", observer: { released: (outcome) => released.push(outcome) } },
    );

    expect(value).toEqual({ deployed: "v1.4" });
    // Without ttlSeconds, the gateway's default TTL; the label made one line the gateway accepts.
    expect(seen).toEqual([{ fencingToken: expect.stringMatching(/^\d+$/), status: "held", aborted: false, ttlSeconds: 30, holder: "deployer #7" }]);
    expect(released).toEqual([{ kind: "released" }]);
    expect(await ctx.lockStatus("deploy-prod")).toBe("free");
  });

  it("renews in the background every ttl/3, so work may outlast the TTL; the fencing token stays the same", async () => {
    let first: string | undefined;
    const expiries: string[] = [];
    await withLock(
      client,
      "long-work",
      async (lock) => {
        first = lock.grant.expiresAt;
        for (let i = 0; i < 8; i++) {
          await sleep(500);
          expiries.push(lock.grant.expiresAt);
          lock.ensureHeld();
        }
        expect(lock.grant.fencingToken).toBe(lock.fencingToken);
      },
      { ttlSeconds: 2 },
    );
    // 4 s of work under a 2 s grant: renewed several times, each moving the expiry on.
    expect(new Set(expiries).size).toBeGreaterThanOrEqual(4);
    expect(Date.parse(expiries.at(-1)!)).toBeGreaterThan(Date.parse(first!) + 2000);
    expect(await ctx.lockStatus("long-work")).toBe("free");
  });

  it("releases the lock when the work throws, and rethrows the work's own error", async () => {
    const failure = new Error("migration failed");
    await expect(
      withLock(client, "throwing", async () => {
        throw failure;
      }),
    ).rejects.toBe(failure);
    expect(await ctx.lockStatus("throwing")).toBe("free");

    // Synchronous work that throws is released all the same.
    await expect(
      withLock(client, "throwing", () => {
        throw new RangeError("sync");
      }),
    ).rejects.toThrow(RangeError);
    expect(await ctx.lockStatus("throwing")).toBe("free");
  });

  it("serializes work in line: the second waits, is granted the moment the first releases, with a greater fencing token", async () => {
    const intervals: Array<{ who: string; start: number; end: number; fencingToken: string }> = [];
    const work = (who: string) => async ({ fencingToken }: LockContext) => {
      const start = performance.now();
      await sleep(700);
      intervals.push({ who, start, end: performance.now(), fencingToken });
      return who;
    };
    const first = withLock(client, "serial", work("a"), { ttlSeconds: 5 });
    await until("serial", "held");
    const second = withLock(other, "serial", work("b"), { ttlSeconds: 5, waitSeconds: 30 });

    expect(await Promise.all([first, second])).toEqual(["a", "b"]);
    const [a, b] = intervals;
    expect(b!.start).toBeGreaterThanOrEqual(a!.end);
    // Granted within a round trip of the release, not after a poll interval.
    expect(b!.start - a!.end).toBeLessThan(1000);
    expect(BigInt(b!.fencingToken)).toBeGreaterThan(BigInt(a!.fencingToken));
  });

  it("tells a waiter where it stands at the end of every round of waiting, without the ticket in the message", async () => {
    const holding = withLock(client, "standing", () => sleep(3000), { ttlSeconds: 10 });
    await until("standing", "held");
    const refusals: LockHeldError[] = [];
    const acquired = await acquireWithinWait(other, "standing", {
      ttlSeconds: 5,
      idempotencyKey: "standing-1",
      waitMs: 30_000,
      pollSeconds: { first: 1, later: 1 },
      observer: { refused: (refusal) => refusals.push(refusal) },
    });
    expect(refusals.length).toBeGreaterThanOrEqual(1);
    expect(refusals[0]).toMatchObject({ position: 1, waiters: 1, subject: "ci-service-a", retryAfterMs: 0 });
    expect(refusals[0]!.ticket).toMatch(/^lgq1\./);
    expect(refusals[0]!.message).not.toContain(refusals[0]!.ticket!);
    // A grant that ended a wait is renewed at once, so that a measured time replaces the estimate.
    expect(acquired.renewAtOnce).toBe(true);
    expect(acquired.waitedMs).toBeGreaterThan(1000);
    await other.release("standing", acquired.grant.token);
    await holding;
  });

  it("aborts the work's signal within one renew interval of an admin's force release, and rejects with LockLostError", async () => {
    const ttlSeconds = 3;
    let abortedAt: number | undefined;
    let reason: unknown;
    const lost: LockLostError[] = [];
    const running = withLock(
      client,
      "force-released",
      ({ signal }) =>
        new Promise<string>((resolve) => {
          signal.addEventListener("abort", () => {
            abortedAt = performance.now();
            reason = signal.reason;
            resolve("stopped");
          });
        }),
      { ttlSeconds, observer: { lost: (error) => lost.push(error) } },
    );
    await until("force-released", "held");
    const forcedAt = performance.now();
    expect(await ops.forceRelease("force-released")).toEqual({ released: true });

    await expect(running).rejects.toBeInstanceOf(LockLostError);
    expect(abortedAt! - forcedAt).toBeLessThan((ttlSeconds * 1000) / 3 + 500);
    expect(reason).toBeInstanceOf(LockLostError);
    expect(reason).toMatchObject({ code: "lock_lost", status: 409 });
    expect(lost).toEqual([reason]);
  });

  it("returns the work's value after a loss only when told not to throw", async () => {
    const running = withLock(
      client,
      "lost-but-done",
      async ({ signal }) => {
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        return "partial";
      },
      { ttlSeconds: 3, throwIfLost: false },
    );
    await until("lost-but-done", "held");
    await ops.forceRelease("lost-but-done");
    expect(await running).toBe("partial");
  });

  it("aborts the signal when no renewal succeeds before the grant expires (gateway gone)", async () => {
    const doomed = await startNodeGateway({ namespace: ctx.namespace, config: cliGatewayConfig(ctx.issuer) });
    const lonely = new LeasegateClient({ url: doomed.url, credentials: staticToken(await ctx.jwt("service-a")), timeoutMs: 1000 });
    const failures: number[] = [];
    let lostAt: number | undefined;
    let killedAt = 0;
    const running = withLock(
      lonely,
      "orphaned",
      async ({ signal }) => {
        killedAt = performance.now();
        await doomed.kill();
        await new Promise((resolve) => signal.addEventListener("abort", resolve));
        lostAt = performance.now();
      },
      { ttlSeconds: 2, observer: { renewalFailed: (_err, n) => failures.push(n) } },
    );
    const error = await running.then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(error).toBeInstanceOf(LockLostError);
    expect(error).toMatchObject({ code: "grant_expired", status: undefined });
    expect((error as LockLostError).cause).toBeInstanceOf(GatewayUnreachableError);
    expect(failures.length).toBeGreaterThanOrEqual(1);
    // Declared lost when the grant's TTL ran out on the local clock, not later.
    expect(lostAt! - killedAt).toBeLessThan(2000 + 500);
  });

  it("gives up after waitSeconds with LockHeldError naming the holder and the place, and leaves the line", async () => {
    const holding = withLock(client, "busy", () => sleep(6000), { ttlSeconds: 10 });
    await until("busy", "held");
    const started = performance.now();
    const refused = await withLock(other, "busy", () => "never", { waitSeconds: 2 }).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(LockHeldError);
    expect(refused).toMatchObject({ status: 409, code: "lock_held", holder: undefined, subject: "ci-service-a", position: 1, waiters: 1 });
    expect(performance.now() - started).toBeGreaterThanOrEqual(2000);
    expect(performance.now() - started).toBeLessThan(4500);
    const state = await ops.state("busy");
    expect(state.waiters).toBe(0);
    await holding;
  });

  it("stops waiting at once when the caller's signal aborts, with its reason, and leaves the line", async () => {
    const holding = withLock(client, "cancelled", () => sleep(4000), { ttlSeconds: 10 });
    await until("cancelled", "held");
    const controller = new AbortController();
    const waiting = withLock(other, "cancelled", () => "never", { waitSeconds: 60, signal: controller.signal });
    await sleep(1500);
    expect((await ops.state("cancelled")).waiters).toBe(1);
    const reason = new Error("shutting down");
    const abortedAt = performance.now();
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
    // The waiting request ends at once; the rejection comes after the clean-up (collecting a grant
    // that may have landed, leaving the line), whose requests are bounded by a few seconds.
    expect(performance.now() - abortedAt).toBeLessThan(5000);
    expect((await ops.state("cancelled")).waiters).toBe(0);
    await holding;
  });

  it("gives a live grant back to an acquisition with the same Idempotency-Key", async () => {
    const key = "job-4711";
    const tokens = await withLock(
      client,
      "idempotent",
      async ({ fencingToken }) => {
        const again = await client.acquire("idempotent", { ttlSeconds: 10 }, { idempotencyKey: key });
        return [fencingToken, again.fencingToken];
      },
      { idempotencyKey: key, ttlSeconds: 10 },
    );
    expect(tokens[1]).toBe(tokens[0]);
    expect(await ctx.lockStatus("idempotent")).toBe("free");
  });
});

describe("the client's routes", () => {
  it("acquire, renew, verify and release: the low-level calls withLock is made of", async () => {
    const grant = await client.acquire("manual", { ttlSeconds: 10, holder: "script", metadata: { change: "42" } });
    expect(grant).toMatchObject({ name: "manual", holder: "script", subject: "ci-service-a", ttlSeconds: 10, metadata: { change: "42" } });
    const renewed = await client.renew("manual", grant.token, { ttlSeconds: 20 });
    expect(renewed).toMatchObject({ fencingToken: grant.fencingToken, ttlSeconds: 20 });
    expect(await client.verify("manual", grant.fencingToken)).toMatchObject({ live: true });
    expect(await client.release("manual", grant.token)).toEqual({ released: true });
    expect(await client.release("manual", grant.token)).toEqual({ released: false });
    expect(await client.verify("manual", grant.fencingToken)).toEqual({ live: false });
    const page = await client.list({ prefix: "manu" });
    expect(page.items.map((item) => item.name)).toEqual(["manual"]);
  });

  it("refuses with a typed error for each kind of refusal", async () => {
    const grant = await client.acquire("typed", { ttlSeconds: 10 });

    const held = await other.acquire("typed").catch((err: unknown) => err);
    expect(held).toBeInstanceOf(LockHeldError);
    expect(held).toMatchObject({ status: 409, code: "lock_held", subject: "ci-service-a", fromGateway: true });
    expect((held as LockHeldError).retryAfterMs).toBeGreaterThan(0);

    await client.release("typed", grant.token);
    await expect(client.renew("typed", grant.token)).rejects.toMatchObject({ name: "LockLostError", code: "lock_lost", status: 409 });
    await expect(client.state("never-used")).rejects.toBeInstanceOf(LockNotFoundError);
    await expect(ops.acquire("typed")).rejects.toBeInstanceOf(ForbiddenError);

    const wrongAudience = new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(await ctx.issuer.mint({ sub: "ci-x" }, { audience: "elsewhere" })) });
    await expect(wrongAudience.state("typed")).rejects.toBeInstanceOf(UnauthorizedError);

    const invalid = await client.acquire("typed", { metadata: { "bad key": "v" } }).catch((err: unknown) => err);
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect((invalid as InvalidRequestError).status).toBe(400);
    expect((invalid as InvalidRequestError).errors.length).toBeGreaterThan(0);

    // Refused before any request: a name the gateway would refuse, a bad key, a bad TTL.
    await expect(client.acquire("Not_A_Lease")).rejects.toMatchObject({ name: "InvalidRequestError", status: undefined });
    await expect(withLock(client, "typed", () => 1, { idempotencyKey: "has space" })).rejects.toBeInstanceOf(InvalidRequestError);
    await expect(withLock(client, "typed", () => 1, { ttlSeconds: 0.5 })).rejects.toBeInstanceOf(InvalidRequestError);

    const nowhere = new LeasegateClient({ url: `http://127.0.0.1:${await closedPort()}`, credentials: staticToken(await ctx.jwt()) });
    await expect(nowhere.state("typed")).rejects.toBeInstanceOf(GatewayUnreachableError);
  });
});
