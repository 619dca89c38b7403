import { execFile, spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ActionsTokenEndpoint, startActionsTokenEndpoint } from "../support/cli-github-oidc.ts";
import { newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";

/**
 * The GitHub Action as the runner runs it: `node action/index.mjs` with the inputs as INPUT_*
 * variables and the job's OIDC token endpoint, from the bundle committed in the repository (a
 * runner does not build), which must be exactly what the sources build.
 */
const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), "leasegate-action-"));
/** Debian's Node 20, older than the runner's Node 24: the bundle needs nothing newer. */
const OLDEST_NODE = "/usr/bin/node";
let issuer: OidcIssuer;
let endpoint: ActionsTokenEndpoint;
let gw: GatewayHandle;
let opsJwt: string;

beforeAll(async () => {
  issuer = await startOidcIssuer();
  endpoint = await startActionsTokenEndpoint(issuer, { lifetimeSeconds: 300 });
  gw = await startNodeGateway({
    namespace: await newTestNamespace("action"),
    config: {
      issuers: [{ issuer: issuer.issuer, audiences: ["leasegate"], jwksUri: issuer.jwksUri }],
      policy: [
        { match: { repository: "org/app" }, actions: ["acquire", "renew", "release", "read"], locks: ["deploy-*"] },
        { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
      ],
    },
  });
  opsJwt = await issuer.mint({ sub: "ops" }, { audience: "leasegate", expiresIn: 600 });
}, 120_000);
afterAll(async () => {
  await gw?.stop();
  await endpoint?.close();
  await issuer?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function runAction(inputs: Record<string, string>, extra: Record<string, string> = {}) {
  return new Promise<{ code: number | null; stderr: string }>((resolve) => {
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: scratch,
      GITHUB_ACTIONS: "true",
      ACTIONS_ID_TOKEN_REQUEST_URL: endpoint.requestUrl,
      ACTIONS_ID_TOKEN_REQUEST_TOKEN: endpoint.requestToken,
      ...Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
      ...extra,
    };
    const child = spawn(OLDEST_NODE, [join(root, "action/index.mjs")], { env, cwd: scratch, stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.on("close", (code) => resolve({ code, stderr }));
  });
}

describe("the GitHub Action", () => {
  it("declares the runner's own Node and the committed bundle, which is exactly what the sources build", async () => {
    const manifest = readFileSync(join(root, "action.yml"), "utf8");
    expect(manifest).toMatch(/^\s+using: node24$/m);
    expect(manifest).toMatch(/^\s+main: action\/index\.mjs$/m);
    expect(manifest).not.toContain("setup-node");
    const fresh = join(scratch, "index.mjs");
    await run(join(root, "node_modules/.bin/esbuild"), [
      ...JSON.parse(readFileSync(join(root, "package.json"), "utf8")).scripts["build:action"].split(" ").slice(1, -1),
      `--outfile=${fresh}`,
    ], { cwd: root });
    expect(readFileSync(fresh, "utf8"), "action/index.mjs is stale: run `npm run build:action` and commit it").toBe(readFileSync(join(root, "action/index.mjs"), "utf8"));
  });

  it("runs the command under the lock with the job's OIDC token, as a `run:` step runs it, and releases", async () => {
    const out = join(scratch, "seen");
    const ok = await runAction({
      url: gw.url,
      lock: "deploy-prod",
      command: `echo "$LEASEGATE_LOCK $LEASEGATE_FENCING_TOKEN" > '${out}'\necho second line >> '${out}'`,
      ttl: "30s",
      wait: "1m",
      "working-directory": ".",
    });
    expect(ok.code, ok.stderr).toBe(0);
    const [first, second] = readFileSync(out, "utf8").trim().split("\n");
    expect(first).toMatch(/^deploy-prod \d+$/);
    expect(second).toBe("second line");
    expect(endpoint.issued().at(-1)!.audience).toBe("leasegate");

    // -e: a failing line stops the command, and its status is the step's; the lock is released.
    const failed = await runAction({ url: gw.url, lock: "deploy-prod", command: "false\necho not reached" });
    expect(failed.code, failed.stderr).toBe(1);
    const state = await callGateway(gw.url, "GET", "/locks/deploy-prod", { jwt: opsJwt });
    expect(state.body.status).toBe("free");

    // A workflow without `permissions: id-token: write` has no token request variables.
    const denied = await runAction({ url: gw.url, lock: "deploy-prod", command: "true" }, { ACTIONS_ID_TOKEN_REQUEST_URL: "", ACTIONS_ID_TOKEN_REQUEST_TOKEN: "" });
    expect(denied.code).toBe(74);
    expect(denied.stderr).toContain("add `permissions: id-token: write`");
  });
});
