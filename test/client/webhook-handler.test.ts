import { createHmac, randomUUID } from "node:crypto";
import type { Miniflare } from "miniflare";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliGateway, startCliGateway } from "../support/cli-gateway.ts";
import { type FixtureWorker, startFixtureWorker } from "../support/fixture-worker.ts";
import { type DeployTarget, startDeployTarget } from "./fixtures/deploy-target.ts";

/**
 * The webhook recipe of docs/client.md (fixtures/webhook-handler.ts) in workerd, with the real
 * gateway: deliveries for one repository are worked on one at a time, each is applied once even
 * when it is delivered again while (or after) it runs, and GitHub gets its answer at once.
 */
const SECRET = "webhook-secret-for-tests";
/** How long the target takes to apply one delivery: long enough for overlaps to show. */
const WORK_MS = 600;
/** GitHub's limit is 10 s; the receiver answers before any work. */
const ANSWERED_WITHIN_MS = 1000;

let ctx: CliGateway;
let target: DeployTarget;
let worker: Miniflare;
let fixture: FixtureWorker;
const logs: string[] = [];

beforeAll(async () => {
  [ctx, target] = await Promise.all([startCliGateway("client-webhook"), startDeployTarget(WORK_MS)]);
  fixture = await startFixtureWorker("test/client/fixtures/webhook-handler.ts", {
    config: "test/client/fixtures/wrangler.toml",
    compatibilityFlags: [],
    bindings: { LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt("webhooks"), GITHUB_WEBHOOK_SECRET: SECRET, TARGET_URL: target.url },
    onLog: (message) => void logs.push(message),
  });
  worker = fixture.worker;
}, 180_000);

afterAll(async () => {
  await fixture?.dispose();
  await Promise.all([ctx?.close(), target?.close()]);
});

/** Sends a delivery as GitHub does (signed with the webhook's secret); the answer and how long it took. */
async function deliver(id: string, repositoryId: number, options: { secret?: string; event?: string } = {}) {
  const payload = JSON.stringify({ action: "opened", repository: { id: repositoryId, full_name: `org/repo-${repositoryId}` } });
  const signature = `sha256=${createHmac("sha256", options.secret ?? SECRET).update(payload).digest("hex")}`;
  const sentAt = performance.now();
  const response = await worker.dispatchFetch("http://webhooks.test/github", {
    method: "POST",
    headers: { "content-type": "application/json", "x-github-event": options.event ?? "pull_request", "x-github-delivery": id, "x-hub-signature-256": signature },
    body: payload,
  });
  const body = (await response.json()) as Record<string, unknown>;
  return { status: response.status, body, ms: performance.now() - sentAt };
}

async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; worker logs:\n${logs.join("\n")}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const applied = (delivery: string) => target.applications.filter((a) => a.delivery === delivery);

/** What the handler logged when it finished a delivery's work, in order. */
const handled = () =>
  logs.flatMap((line) => {
    try {
      const entry = JSON.parse(line) as { delivery?: string; outcome?: string; failed?: string };
      return entry.delivery ? [entry] : [];
    } catch {
      return [];
    }
  });

describe("the webhook handler recipe", () => {
  it("answers at once, works on one repository at a time, and applies a delivery sent twice only once", async () => {
    const [first, second, other] = [randomUUID(), randomUUID(), randomUUID()];
    // Two deliveries for repository 1001, the first delivered twice (a redelivery while it runs),
    // and one for repository 2002: all at once, as GitHub may send them to any Worker instance.
    const answers = await Promise.all([deliver(first, 1001), deliver(second, 1001), deliver(first, 1001), deliver(other, 2002)]);
    for (const answer of answers) {
      expect(answer.status, JSON.stringify(answer.body)).toBe(202);
      expect(answer.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    }

    await eventually(() => handled().length === answers.length, "every delivery to be handled");
    await eventually(async () => (await ctx.lockStatus("github-repo-1001")) === "free", "the repository's lock to be released");

    // Each delivery applied exactly once: of the two attempts of the first, one applied it and the
    // other found it applied (having waited while it was being applied, if they overlapped).
    expect([first, second, other].map((d) => applied(d).length)).toEqual([1, 1, 1]);
    expect(handled().filter((h) => h.delivery === first).map((h) => h.outcome).sort()).toEqual(["applied", "duplicate"]);
    expect(handled().filter((h) => h.delivery !== first).map((h) => h.outcome)).toEqual(["applied", "applied"]);
    expect([...target.outcomes.values()].flat()).not.toContain("stale");

    // One repository's deliveries one after the other, in fencing-token order; another repository's alongside.
    expect(target.maxConcurrent(1001)).toBe(1);
    const repo1001 = target.applications.filter((a) => a.repository === 1001).sort((a, b) => a.start - b.start);
    expect(repo1001[1]!.start).toBeGreaterThanOrEqual(repo1001[0]!.end);
    expect(repo1001[1]!.fencingToken).toBeGreaterThan(repo1001[0]!.fencingToken);
    const [otherApplication] = applied(other);
    expect(otherApplication!.start).toBeLessThan(repo1001[1]!.end);
    expect(logs.join("\n")).not.toContain("failed");
  });

  it("answers a redelivery of a delivery applied long ago at once, and does not apply it again", async () => {
    const id = randomUUID();
    expect((await deliver(id, 3003)).status).toBe(202);
    await eventually(() => applied(id).length === 1, "the delivery to be applied");
    await eventually(async () => (await ctx.lockStatus("github-repo-3003")) === "free", "the lock to be released");

    const again = await deliver(id, 3003);
    expect(again.status).toBe(202);
    expect(again.ms).toBeLessThan(ANSWERED_WITHIN_MS);
    await eventually(() => handled().filter((h) => h.delivery === id).length === 2, "the redelivery to be handled");
    expect(target.outcomes.get(id)).toEqual(["applied", "duplicate"]);
    expect(handled().filter((h) => h.delivery === id).map((h) => h.outcome)).toEqual(["applied", "duplicate"]);
    expect(applied(id)).toHaveLength(1);
  });

  it("refuses a delivery whose signature is not the webhook secret's, and does nothing for it", async () => {
    const id = randomUUID();
    const forged = await deliver(id, 1001, { secret: "guessed" });
    expect(forged.status).toBe(401);
    const unsigned = await worker.dispatchFetch("http://webhooks.test/github", { method: "POST", headers: { "x-github-delivery": id }, body: "{}" });
    expect(unsigned.status).toBe(401);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(target.outcomes.has(id)).toBe(false);
    expect((await deliver(randomUUID(), 1001, { event: "ping" })).body).toEqual({ pong: true });
  });
});
