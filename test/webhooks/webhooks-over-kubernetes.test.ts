import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { JwtAuthenticator } from "../../src/auth/jwt-authenticator.ts";
import { Policy } from "../../src/auth/policy.ts";
import { configSchema } from "../../src/config/schema.ts";
import { createApp } from "../../src/http/app.ts";
import { kubeconfigLeaseApi } from "../../src/kube/kubeconfig-lease-api.ts";
import { KubeLeaseStore } from "../../src/kube/lease-store.ts";
import { ListCursors } from "../../src/locks/list-cursor.ts";
import { TokenKeys } from "../../src/locks/lock-token.ts";
import { webhooksConfigSchema } from "../../src/webhooks/webhook-config.ts";
import { type WebhookDropReason, webhookSink } from "../../src/webhooks/webhook-sink.ts";
import { clusterInfo, newTestNamespace } from "../support/cluster.ts";
import { AUDIENCE, POLICY } from "../support/memory-app.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { newWebhookSecret, type Received, startWebhookReceiver, type WebhookReceiver } from "./support/webhook-receiver.ts";

/**
 * Webhooks from the real app over the real Kubernetes store, to real receivers on loopback that
 * verify every request with the `standardwebhooks` package: what an operator's bot gets when
 * callers take, hand over, lose and wait for locks.
 */
let issuer: OidcIssuer;
let namespace: string;
let app: ReturnType<typeof createApp>;
let everything: WebhookReceiver;
let chatOps: WebhookReceiver;
const drops: Array<[WebhookDropReason, string]> = [];
/** Answers to lock.released of team-a-deploy wait for this, so the test can see the lock answer arrive first. */
let releaseAnswered: () => void;
const releaseAnswer = new Promise<void>((resolve) => (releaseAnswered = resolve));
/** Every secret a caller was given or showed: none may appear in a webhook. */
const secrets: string[] = [];

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  namespace = await newTestNamespace("webhooks");
  const [everythingSecret, chatOpsSecret] = [newWebhookSecret(), newWebhookSecret()];
  everything = await startWebhookReceiver(everythingSecret, (request) =>
    request.verified?.type === "lock.released" && request.verified.data.lock === "team-a-deploy" ? { status: 204, after: releaseAnswer } : { status: 204 },
  );
  chatOps = await startWebhookReceiver(chatOpsSecret);

  const config = configSchema.parse({
    namespace,
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: POLICY,
    kubernetes: {},
    skewAllowanceSeconds: 0,
    accessLog: false,
  });
  const webhooks = webhooksConfigSchema.parse([
    { name: "everything", url: everything.url, secretEnv: "EVERYTHING_SECRET" },
    { name: "chat-ops", url: chatOps.url, secretEnv: "CHAT_OPS_SECRET", events: ["lock.force_released", "lock.taken_over"], locks: ["team-a-deploy"] },
  ]);
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(clusterInfo().gatewayKubeconfig);
  const tokenKeys = [crypto.getRandomValues(new Uint8Array(32))];
  app = createApp({
    config,
    store: new KubeLeaseStore(kubeconfigLeaseApi(kubeConfig, 5_000), namespace),
    authenticator: await JwtAuthenticator.create(config.issuers, {}),
    policy: new Policy(config.policy),
    tokens: await TokenKeys.import(tokenKeys),
    cursors: await ListCursors.import(tokenKeys),
    onLockEvents: webhookSink(webhooks, {
      namespace,
      secrets: { EVERYTHING_SECRET: everythingSecret, CHAT_OPS_SECRET: chatOpsSecret },
      onDropped: (reason, endpoint) => drops.push([reason, endpoint]),
    }),
  });
});

afterAll(async () => {
  releaseAnswered?.();
  await Promise.all([everything?.close(), chatOps?.close(), issuer?.close()]);
});

async function call(method: string, path: string, jwt: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await app.request(path, {
    method,
    headers: { authorization: `Bearer ${jwt}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = { status: response.status, body: (await response.json()) as Record<string, unknown> };
  for (const key of ["token", "ticket"]) if (typeof answer.body[key] === "string") secrets.push(answer.body[key]);
  return answer;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const typesOf = (requests: Received[]) => requests.map((request) => `${request.verified?.type} ${request.verified?.data.lock}`);

describe("webhooks from a gateway over Kubernetes", () => {
  it("tell of grants, hand-overs, force releases, losses, takeovers and the line, signed and without a secret", async () => {
    const [alice, bob, carol, ops] = await Promise.all([
      issuer.mint({ sub: "team-a:alice" }),
      issuer.mint({ sub: "team-a:bob" }),
      issuer.mint({ sub: "team-a:carol" }),
      issuer.mint({ sub: "ops", groups: "admins" }),
    ]);
    secrets.push(alice, bob, carol, ops);

    // Alice takes the deploy lock; Bob waits in line for it.
    const aliceGrant = await call("POST", "/locks/team-a-deploy/acquire", alice, { holder: "laptop", ttlSeconds: 30 });
    expect(aliceGrant.status).toBe(200);
    const bobWaits = call("POST", "/locks/team-a-deploy/acquire", bob, { holder: "ci-runner", ttlSeconds: 30, waitSeconds: 20 });
    for (let tries = 0; tries < 200 && (await call("GET", "/locks/team-a-deploy", alice)).body.waiters !== 1; tries++) await sleep(25);

    // Alice releases: her answer comes while the receiver still holds the webhook of it.
    const released = await call("POST", "/locks/team-a-deploy/release", alice, { token: aliceGrant.body.token });
    expect(released.body).toEqual({ released: true });
    await everything.waitFor(2);
    expect(typesOf(everything.received)).toEqual(["lock.acquired team-a-deploy", "lock.released team-a-deploy"]);
    releaseAnswered();

    // Bob's wait ends in a grant; an admin force-releases it; Bob's next renewal finds it lost.
    const bobGrant = await bobWaits;
    expect(bobGrant.status).toBe(200);
    await everything.waitFor(4);
    expect((await call("DELETE", "/locks/team-a-deploy", ops)).body).toEqual({ released: true });
    expect((await call("POST", "/locks/team-a-deploy/renew", bob, { token: bobGrant.body.token })).status).toBe(409);

    // Carol's short hold runs out and Alice takes it over; Bob waits for a second, then leaves the line.
    const carolGrant = await call("POST", "/locks/team-a-nightly/acquire", carol, { holder: "cron", ttlSeconds: 1 });
    await sleep(1_200);
    const takeover = await call("POST", "/locks/team-a-nightly/acquire", alice, { holder: "laptop", ttlSeconds: 30 });
    expect(takeover.status).toBe(200);
    const gaveUp = await call("POST", "/locks/team-a-nightly/acquire", bob, { holder: "ci-runner", waitSeconds: 1 });
    expect(gaveUp.status).toBe(409);
    expect((await call("POST", "/locks/team-a-nightly/leave", bob, { ticket: gaveUp.body.ticket })).body).toEqual({ left: true });

    const all = await everything.waitFor(10);
    await sleep(200);
    expect(everything.received).toHaveLength(10);
    expect(all.every((request) => request.verified !== null)).toBe(true);
    expect(typesOf(all)).toEqual([
      "lock.acquired team-a-deploy",
      "lock.released team-a-deploy",
      // A waiting request hands on its events when it is answered: the join and the grant together.
      "lock.queue_joined team-a-deploy",
      "lock.acquired team-a-deploy",
      "lock.force_released team-a-deploy",
      "lock.lost team-a-deploy",
      "lock.acquired team-a-nightly",
      "lock.taken_over team-a-nightly",
      "lock.queue_joined team-a-nightly",
      "lock.queue_left team-a-nightly",
    ]);
    const payload = (index: number) => all[index]!.verified!;
    const holder = (label: string, subject: string) => ({ identity: `${label} (${subject})`, label, subject, issuer: issuer.issuer });
    expect(payload(0).data).toEqual({ lock: "team-a-deploy", namespace, holder: holder("laptop", "team-a:alice"), fencingToken: aliceGrant.body.fencingToken });
    expect(payload(1).data).toMatchObject({ holder: { identity: "laptop (team-a:alice)" }, fencingToken: aliceGrant.body.fencingToken, heldSeconds: expect.any(Number) });
    expect(payload(2).data).toMatchObject({ holder: holder("ci-runner", "team-a:bob"), position: 1 });
    expect(payload(3).data).toMatchObject({ holder: holder("ci-runner", "team-a:bob"), fencingToken: bobGrant.body.fencingToken, waitedSeconds: expect.any(Number) });
    expect(payload(4).data).toMatchObject({ previousHolder: "ci-runner (team-a:bob)", fencingTokens: [bobGrant.body.fencingToken], by: { subject: "ops", issuer: issuer.issuer } });
    expect(payload(5).data).toMatchObject({ holder: { identity: "ci-runner (team-a:bob)" }, fencingToken: bobGrant.body.fencingToken });
    expect(payload(7).data).toMatchObject({ holder: holder("laptop", "team-a:alice"), fencingToken: takeover.body.fencingToken, previousHolder: "cron (team-a:carol)" });
    expect(BigInt(takeover.body.fencingToken as string)).toBeGreaterThan(BigInt(carolGrant.body.fencingToken as string));
    expect(payload(9).data).toMatchObject({ holder: { subject: "team-a:bob", issuer: issuer.issuer } });

    // The chat-ops endpoint asked for force releases and takeovers of the deploy lock only.
    const [forced] = await chatOps.waitFor(1);
    await sleep(200);
    expect(typesOf(chatOps.received)).toEqual(["lock.force_released team-a-deploy"]);
    expect(forced!.headers["webhook-id"]).toBe(all[4]!.headers["webhook-id"]);

    // No lock token, queue ticket or bearer token went out, in a body or a header.
    expect(secrets.length).toBeGreaterThanOrEqual(9);
    for (const request of [...all, ...chatOps.received]) {
      const sent = request.body + JSON.stringify(request.headers);
      for (const secret of secrets) expect(sent).not.toContain(secret);
    }
    expect(drops).toEqual([]);
  });
});
