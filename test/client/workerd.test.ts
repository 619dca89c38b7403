import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LeasegateClient, staticToken, withLock } from "../../src/client/index.ts";
import { type CliGateway, startCliGateway } from "../support/cli-gateway.ts";
import { type FixtureWorker, startFixtureWorker } from "../support/fixture-worker.ts";

/**
 * The client inside workerd (Miniflare), the runtime of Cloudflare Workers: a Worker
 * (fixtures/lock-worker.ts) bundled as `wrangler deploy` bundles it, without `nodejs_compat`,
 * holds locks of the real Node gateway with `withLock`.
 */
let ctx: CliGateway;
let worker: Miniflare;
let fixture: FixtureWorker;
let bundle: string;

beforeAll(async () => {
  ctx = await startCliGateway("client-workerd");
  fixture = await startFixtureWorker("test/client/fixtures/lock-worker.ts", {
    config: "test/client/fixtures/wrangler.toml",
    compatibilityFlags: [],
    bindings: { GATEWAY_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt("worker") },
  });
  worker = fixture.worker;
  bundle = fixture.bundle;
}, 180_000);

afterAll(async () => {
  await fixture?.dispose();
  await ctx?.close();
});

async function inWorker(path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await worker.dispatchFetch(`http://worker.test${path}`);
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

async function until(lock: string, status: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await ctx.lockStatus(lock)) !== status) {
    if (Date.now() > deadline) throw new Error(`${lock} did not become ${status}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe("withLock in workerd", () => {
  it("bundles without any of the gateway's code: the API types are erased", () => {
    expect(bundle).not.toMatch(/ZodError|zod-openapi|from "hono"|OpenAPIHono/);
    expect(bundle).toContain("withLock");
  });

  it("holds a lock longer than its TTL, renewing it, and releases it", async () => {
    const { status, body } = await inWorker("/hold?lock=workerd-hold&ttl=2&holdMs=3500");
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body.fencingToken).toMatch(/^\d+$/);
    expect(Date.parse(body.lastExpiresAt as string)).toBeGreaterThan(Date.parse(body.firstExpiresAt as string) + 2000);
    expect(await ctx.lockStatus("workerd-hold")).toBe("free");
  });

  it("aborts the work's signal within one renew interval of a force release", async () => {
    const ttlSeconds = 3;
    const answer = inWorker(`/until-lost?lock=workerd-lost&ttl=${ttlSeconds}&maxMs=20000`);
    await until("workerd-lost", "held");
    const forcedAt = performance.now();
    const forced = await new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(ctx.opsJwt) }).forceRelease("workerd-lost");
    expect(forced).toEqual({ released: true });

    const { status, body } = await answer;
    expect(status, JSON.stringify(body)).toBe(200);
    expect(body).toEqual({ lost: true, reason: { name: "LockLostError", code: "lock_lost" } });
    expect(performance.now() - forcedAt).toBeLessThan((ttlSeconds * 1000) / 3 + 1000);
  });

  it("releases the lock when the work throws, and rethrows the work's error", async () => {
    const { status, body } = await inWorker("/throw?lock=workerd-throw");
    expect(status).toBe(500);
    expect(body).toMatchObject({ error: "TypeError", message: "work failed" });
    expect(await ctx.lockStatus("workerd-throw")).toBe("free");
  });

  it("waits in line behind a Node holder and is granted when it releases", async () => {
    const node = new LeasegateClient({ url: ctx.gw.url, credentials: staticToken(await ctx.jwt("node")) });
    let nodeToken = "";
    let releasedAt = 0;
    const holding = withLock(
      node,
      "workerd-line",
      async ({ fencingToken }) => {
        nodeToken = fencingToken;
        await new Promise((resolve) => setTimeout(resolve, 1500));
        releasedAt = performance.now();
      },
      { ttlSeconds: 5 },
    );
    await until("workerd-line", "held");
    const { status, body } = await inWorker("/wait?lock=workerd-line&ttl=5&waitSeconds=30");
    const answeredAt = performance.now();
    await holding;
    expect(status, JSON.stringify(body)).toBe(200);
    expect(BigInt(body.fencingToken as string)).toBeGreaterThan(BigInt(nodeToken));
    expect(answeredAt - releasedAt).toBeLessThan(2000);
  });
});
