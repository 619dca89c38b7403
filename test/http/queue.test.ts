import { beforeAll, describe, expect, it } from "vitest";
import { memoryAppWithAliceForSuite } from "../support/memory-app.ts";

let bob: string;
let carol: string;
let reader: string;
let names = 0;

const suite = memoryAppWithAliceForSuite();

beforeAll(async () => {
  bob = await suite.issuer.mint({ sub: "team-a:bob" });
  carol = await suite.issuer.mint({ sub: "team-a:carol" });
  reader = await suite.issuer.mint({ sub: "reader" });
});

const call = (method: string, path: string, jwt: string, body?: unknown, headers: Record<string, string> = {}) =>
  suite.app.request(path, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;
const freshLock = () => `team-a-queue-${names++}`;

/** Holds `lock` for alice and puts bob in line behind her with one short wait. */
async function heldWithBobInLine(lock: string, headers: Record<string, string> = {}) {
  const held = await json(await call("POST", `/locks/${lock}/acquire`, suite.alice, { holder: "deploy #1", ttlSeconds: 60 }));
  const waited = await call("POST", `/locks/${lock}/acquire`, bob, { holder: "deploy #2", waitSeconds: 1 }, headers);
  return { held, waited };
}

describe("waiting in line over HTTP", () => {
  it("answers a wait that ended with 409, the caller's position, the line's length, its ticket and Retry-After: 0", async () => {
    const { waited } = await heldWithBobInLine(freshLock());
    expect(waited.status).toBe(409);
    expect(waited.headers.get("retry-after")).toBe("0");
    const problem = await json(waited);
    expect(problem).toMatchObject({ code: "lock_held", holder: "deploy #1", subject: "team-a:alice", position: 1, waiters: 1 });
    expect(problem.ticket).toMatch(/^lgq1\.[A-Za-z0-9_-]{43}$/);
  });

  it("refuses a free lock to a caller without a place while others wait, saying how many", async () => {
    const lock = freshLock();
    const { held } = await heldWithBobInLine(lock);
    await call("POST", `/locks/${lock}/release`, suite.alice, { token: held.token });
    const refused = await call("POST", `/locks/${lock}/acquire`, carol);
    expect(refused.status).toBe(409);
    const problem = await json(refused);
    expect(problem).toMatchObject({ code: "lock_held", waiters: 1 });
    expect(problem).not.toHaveProperty("holder");
    expect(problem).not.toHaveProperty("ticket");
  });

  it("grants the lock to the waiter that comes back with its ticket", async () => {
    const lock = freshLock();
    const { held, waited } = await heldWithBobInLine(lock);
    const { ticket } = await json(waited);
    await call("POST", `/locks/${lock}/release`, suite.alice, { token: held.token });
    const granted = await call("POST", `/locks/${lock}/acquire`, bob, { waitSeconds: 1, ticket });
    expect(granted.status).toBe(200);
    expect(await json(granted)).toMatchObject({ subject: "team-a:bob" });
    // The ticket is spent: the line is empty again.
    expect(await json(await call("GET", `/locks/${lock}`, reader))).toMatchObject({ waiters: 0, queue: [] });
  });

  it("shows the line on the lock and its length in the listing", async () => {
    const lock = freshLock();
    await heldWithBobInLine(lock);
    const state = await json(await call("GET", `/locks/${lock}`, reader));
    expect(state).toMatchObject({ status: "held", waiters: 1, queue: [{ position: 1, holder: "deploy #2", subject: "team-a:bob", holderIdentity: "deploy #2 (team-a:bob)" }] });
    const queue = state.queue as Array<Record<string, string>>;
    expect(Date.parse(queue[0]!.expiresAt!)).toBeGreaterThan(Date.parse(queue[0]!.waitingSince!));
    const page = await json(await call("GET", `/locks?prefix=${lock}`, reader));
    expect(page.items).toMatchObject([{ name: lock, waiters: 1 }]);
  });

  it("lets a waiter leave by its ticket or by its Idempotency-Key, and says when there was no place to leave", async () => {
    const byTicket = freshLock();
    const { waited } = await heldWithBobInLine(byTicket);
    const { ticket } = await json(waited);
    expect(await json(await call("POST", `/locks/${byTicket}/leave`, bob, { ticket }))).toEqual({ left: true });
    expect(await json(await call("POST", `/locks/${byTicket}/leave`, bob, { ticket }))).toEqual({ left: false });
    expect(await json(await call("GET", `/locks/${byTicket}`, reader))).toMatchObject({ waiters: 0 });

    const byKey = freshLock();
    await heldWithBobInLine(byKey, { "idempotency-key": "pipeline-7" });
    // Another caller's key names another place: bob's stays.
    expect(await json(await call("POST", `/locks/${byKey}/leave`, carol, undefined, { "idempotency-key": "pipeline-7" }))).toEqual({ left: false });
    expect(await json(await call("POST", `/locks/${byKey}/leave`, bob, undefined, { "idempotency-key": "pipeline-7" }))).toEqual({ left: true });
  });

  it("refuses a leave that names no place, a malformed ticket, and a caller that may not acquire the lock", async () => {
    const lock = freshLock();
    const unnamed = await call("POST", `/locks/${lock}/leave`, bob, {});
    expect(unnamed.status).toBe(400);
    expect(await json(unnamed)).toMatchObject({ code: "invalid_request" });
    const malformed = await call("POST", `/locks/${lock}/acquire`, bob, { waitSeconds: 1, ticket: "lgq1.<script>" });
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ code: "invalid_request", errors: [{ path: "json.ticket" }] });
    const forbidden = await call("POST", `/locks/${lock}/leave`, reader, {}, { "idempotency-key": "k" });
    expect(forbidden.status).toBe(403);
  });
});
