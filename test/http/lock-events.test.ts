import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { LockEventContext } from "../../src/http/app-env.ts";
import type { LockEvent } from "../../src/locks/lock-events.ts";
import { AUDIENCE, memoryApp } from "../support/memory-app.ts";
import { startOidcIssuer, type OidcIssuer } from "../support/oidc-issuer.ts";

let issuer: OidcIssuer;
let app: Awaited<ReturnType<typeof memoryApp>>["app"];
const handedOn: Array<{ events: LockEvent[]; context: LockEventContext }> = [];

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  ({ app } = await memoryApp(issuer, { onLockEvents: (events, context) => handedOn.push({ events, context }) }));
});
afterAll(() => issuer.close());

describe("lock events leaving the app", () => {
  it("are handed on once per request that changed something, with the caller, after the answer is ready", async () => {
    const alice = await issuer.mint({ sub: "team-a:alice" });
    const call = (path: string, body: unknown) =>
      app.request(path, { method: "POST", headers: { authorization: `Bearer ${alice}`, "content-type": "application/json" }, body: JSON.stringify(body) });
    const grant = (await (await call("/locks/team-a-events/acquire", {})).json()) as { token: string };
    await call("/locks/team-a-events/renew", { token: grant.token });
    await call("/locks/team-a-events/release", { token: grant.token });
    expect(handedOn.map(({ events }) => events.map((event) => event.kind))).toEqual([["acquired"], ["released"]]);
    expect(handedOn[0]!.context.caller).toMatchObject({ subject: "team-a:alice", issuer: issuer.issuer });
    // Work for later can be handed over without delaying or failing anything.
    handedOn[0]!.context.background(Promise.reject(new Error("a sink that failed")));
  });
});
