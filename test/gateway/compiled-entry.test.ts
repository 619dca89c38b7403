import { execFile } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliGatewayConfig, CLI_AUDIENCE } from "../support/cli-gateway.ts";
import { newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * `npm run build` compiles the Node gateway to plain JavaScript (dist/gateway), which the
 * container image runs: no type stripping at start, less memory. It must be the same gateway.
 */
const root = new URL("../..", import.meta.url).pathname;
const ENTRY = "dist/gateway/node.js";
let issuer: OidcIssuer;
let gw: GatewayHandle;

beforeAll(async () => {
  await promisify(execFile)("npm", ["run", "--silent", "build"], { cwd: root });
  issuer = await startOidcIssuer({ defaultAudience: CLI_AUDIENCE });
  gw = await startNodeGateway({ namespace: await newTestNamespace("compiled"), config: cliGatewayConfig(issuer), entry: ENTRY });
}, 180_000);
afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
});

describe("the compiled Node gateway (npm run build)", () => {
  it("is JavaScript only, and grants, renews and releases a lock on the real apiserver", async () => {
    const files = readdirSync(join(root, "dist/gateway"), { recursive: true, encoding: "utf8" });
    expect(files.filter((file) => file.endsWith(".ts"))).toEqual([]);
    expect(existsSync(join(root, ENTRY))).toBe(true);

    const jwt = await issuer.mint({ sub: "ci-compiled" }, { expiresIn: 600 });
    const granted = await callGateway(gw.url, "POST", "/locks/compiled/acquire", { jwt, body: { ttlSeconds: 30 } });
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    const token = granted.body.token as string;
    const renewed = await callGateway(gw.url, "POST", "/locks/compiled/renew", { jwt, body: { token } });
    expect(renewed.status).toBe(200);
    expect(renewed.body.fencingToken).toBe(granted.body.fencingToken);
    const released = await callGateway(gw.url, "POST", "/locks/compiled/release", { jwt, body: { token } });
    expect(released.body).toEqual({ released: true });
  });
});
