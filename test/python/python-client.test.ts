import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { newTestNamespace } from "../support/cluster.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { installClientWheel, pythonWithTestTools } from "./python-environment.ts";

/**
 * The Python client (clients/python) against the real gateway on the test cluster: its pytest
 * suite runs, as a user would run it, on the wheel its pyproject.toml builds. The gateway's
 * longest single wait is short, so that waiting in the suite spans several requests.
 */
const AUDIENCE = "leasegate";
const MAX_WAIT_SECONDS = 3;
const root = new URL("../..", import.meta.url).pathname;

let issuer: OidcIssuer;
let gw: GatewayHandle;
let python: string;
let scratch: string;
let site: string;
let wheel: string;
let settings: Record<string, string>;

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), "leasegate-python-"));
  site = join(scratch, "site");
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  const config = {
    issuers: [{ issuer: issuer.issuer, audiences: [AUDIENCE], jwksUri: issuer.jwksUri }],
    policy: [
      { match: { sub: "py-*" }, actions: ["acquire", "renew", "release", "read"], locks: ["*"] },
      { match: { sub: "ops" }, actions: ["admin", "read"], locks: ["*"] },
    ],
    maxWaitSeconds: MAX_WAIT_SECONDS,
  };
  const [namespace, venvPython] = await Promise.all([newTestNamespace("python-client"), pythonWithTestTools()]);
  python = venvPython;
  [gw, wheel] = await Promise.all([startNodeGateway({ namespace, config }), installClientWheel(python, scratch, site)]);
  const mint = (sub: string) => issuer.mint({ sub }, { expiresIn: 3600 });
  settings = {
    LEASEGATE_URL: gw.url,
    LEASEGATE_TEST_TOKEN: await mint("py-alice"),
    LEASEGATE_TEST_TOKEN_2: await mint("py-bob"),
    LEASEGATE_TEST_TOKEN_3: await mint("py-carol"),
    LEASEGATE_TEST_ADMIN_TOKEN: await mint("ops"),
    LEASEGATE_TEST_LOCK_PREFIX: `py-${process.pid}-`,
    LEASEGATE_TEST_MAX_WAIT_SECONDS: String(MAX_WAIT_SECONDS),
  };
  // A first run downloads pytest from PyPI into node_modules/.cache.
}, 300_000);

afterAll(async () => {
  await gw?.stop();
  await issuer?.close();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

describe("the Python client", () => {
  it("builds a wheel that needs nothing beyond the standard library of Python 3.9 or later", () => {
    expect(wheel).toMatch(/leasegate-0\.1\.0-py3-none-any\.whl$/);
    const distInfo = readdirSync(site).find((entry) => entry.endsWith(".dist-info"));
    const metadata = readFileSync(join(site, distInfo!, "METADATA"), "utf8");
    expect(metadata).toMatch(/^Requires-Python: >=3\.9$/m);
    expect(metadata).not.toMatch(/^Requires-Dist:/m);
    expect(readdirSync(join(site, "leasegate"))).toContain("py.typed");
  });

  it("passes its pytest suite against the real gateway", async () => {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(
        python,
        ["-m", "pytest", "clients/python/tests", "-q", "-rs"],
        {
          cwd: root,
          env: { ...process.env, ...settings, PYTHONPATH: site, PYTHONDONTWRITEBYTECODE: "1", PYTHONUNBUFFERED: "1" },
          timeout: 240_000,
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, output: `${stdout}${stderr}` }),
      );
    });
    expect(code, output).toBe(0);
    // Every setting reached the suite and every test ran: nothing was skipped.
    expect(output).not.toMatch(/is not set|skipped/i);
    console.info(output.trim().split("\n").at(-1));
  }, 300_000);
});
