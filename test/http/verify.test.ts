import { beforeAll, describe, expect, it } from "vitest";
import { memoryAppWithAliceForSuite } from "../support/memory-app.ts";

let reader: string;
let outsider: string;

const suite = memoryAppWithAliceForSuite();

beforeAll(async () => {
  reader = await suite.issuer.mint({ sub: "reader" });
  outsider = await suite.issuer.mint({ sub: "nobody" });
});

const call = (method: string, path: string, jwt: string, body?: unknown) =>
  suite.app.request(path, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
const json = async (res: Response) => (await res.json()) as Record<string, unknown>;

describe("verifying a fencing token (for resources that cannot keep the highest one)", () => {
  it("says a grant's token is live while that grant holds the lock, and no longer once it is released or superseded", async () => {
    const first = await json(await call("POST", "/locks/team-a-verify/acquire", suite.alice, { ttlSeconds: 30 }));
    const live = await call("POST", "/locks/team-a-verify/verify", reader, { fencingToken: first.fencingToken });
    expect(live.status).toBe(200);
    expect(await json(live)).toEqual({ live: true, expiresAt: first.expiresAt });
    await call("POST", "/locks/team-a-verify/release", suite.alice, { token: first.token });
    expect(await json(await call("POST", "/locks/team-a-verify/verify", reader, { fencingToken: first.fencingToken }))).toEqual({ live: false });
    const second = await json(await call("POST", "/locks/team-a-verify/acquire", suite.alice));
    expect(await json(await call("POST", "/locks/team-a-verify/verify", reader, { fencingToken: first.fencingToken }))).toEqual({ live: false });
    expect(await json(await call("POST", "/locks/team-a-verify/verify", reader, { fencingToken: second.fencingToken }))).toMatchObject({ live: true });
  });

  it("refuses what is not a fencing token, an unknown lock, and a caller without read rights", async () => {
    const malformed = await call("POST", "/locks/team-a-verify/verify", reader, { fencingToken: "12; drop" });
    expect(malformed.status).toBe(400);
    expect(await json(malformed)).toMatchObject({ code: "invalid_request", errors: [{ path: "json.fencingToken" }] });
    expect((await call("POST", "/locks/team-a-never/verify", reader, { fencingToken: "1" })).status).toBe(404);
    expect((await call("POST", "/locks/team-a-verify/verify", outsider, { fencingToken: "1" })).status).toBe(403);
  });
});
