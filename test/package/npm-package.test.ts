import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliGateway, startCliGateway } from "../support/cli-gateway.ts";

/**
 * The npm package a user installs (packages/leasegate): packed as `npm publish` would pack it,
 * installed from the tarball into an empty project, and run by the oldest Node it supports, with
 * nothing of this repository around it.
 */
const run = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
/** Debian's Node 20: the oldest the package supports, and not the repository's pinned Node. */
const OLDEST_NODE = "/usr/bin/node";
const scratch = mkdtempSync(join(tmpdir(), "leasegate-package-"));
let project: string;
let tarball: string;
let ctx: CliGateway;

beforeAll(async () => {
  const packed = await run("npm", ["pack", "./packages/leasegate", "--pack-destination", scratch, "--json"], { cwd: root });
  tarball = join(scratch, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]!.filename);
  project = join(scratch, "user-project");
  await run("mkdir", ["-p", project]);
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "user-project", private: true, type: "module" }));
  await run("npm", ["install", "--no-audit", "--no-fund", "--offline", tarball], { cwd: project });
  ctx = await startCliGateway("npm-package");
}, 300_000);
afterAll(async () => {
  await ctx?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("the npm package", () => {
  it("installs from its tarball with no dependencies and carries only compiled code", async () => {
    const manifest = JSON.parse(readFileSync(join(project, "node_modules/leasegate/package.json"), "utf8")) as Record<string, unknown>;
    expect(manifest).toMatchObject({ name: "leasegate", engines: { node: ">=20" } });
    expect(manifest.dependencies).toBeUndefined();
    expect(readdirSync(join(project, "node_modules")).filter((entry) => !entry.startsWith("."))).toEqual(["leasegate"]);
    const files = (await run("tar", ["-tzf", tarball])).stdout.split("\n").filter(Boolean);
    expect(files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"))).toEqual([]);
    expect(files).toContain("package/dist/cli/main.js");
    expect(files).toContain("package/dist/client/index.js");
  });

  it("offers leasegate/client to code running on Node 20", async () => {
    const script = join(project, "use-client.mjs");
    writeFileSync(
      script,
      `import { LeasegateClient, staticToken, withLock } from "leasegate/client";
const client = new LeasegateClient({ url: process.env.LEASEGATE_URL, credentials: staticToken(process.env.LEASEGATE_TOKEN) });
const result = await withLock(client, "npm-client", async ({ fencingToken }) => "held " + fencingToken, { ttlSeconds: 10 });
console.log(result);`,
    );
    const env = { PATH: process.env.PATH!, HOME: scratch, LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt() };
    const ran = await run(OLDEST_NODE, [script], { env, cwd: project });
    expect(ran.stdout.trim()).toMatch(/^held \d+$/);
  });

  it("types leasegate/client for its users in full, with nothing of the gateway's own modules", async () => {
    const files = (await run("tar", ["-tzf", tarball])).stdout.split("\n").filter(Boolean);
    expect(files.filter((file) => file.startsWith("package/dist/http/"))).toEqual([]);
    const declarations = files.filter((file) => file.endsWith(".d.ts")).map((file) => file.replace(/^package\//, ""));
    for (const declaration of declarations) {
      const text = readFileSync(join(project, "node_modules/leasegate", declaration), "utf8");
      expect(text, declaration).not.toMatch(/from ["'](zod|hono|@hono\/[^"']*|[^"']*\/http\/[^"']*)["']/);
    }
    // A mistake a user makes must be a type error, which it is not if the answers are typed `any`.
    writeFileSync(
      join(project, "consumer.ts"),
      `import { LeasegateClient, staticToken } from "leasegate/client";
import type { Grant } from "leasegate/client";
const client = new LeasegateClient({ url: "http://127.0.0.1:1", credentials: staticToken("token") });
const grant = await client.acquire("deploy-prod", { ttlSeconds: 30 });
export const kept: Grant = grant;
export const wrong: number = grant.fencingToken;
`,
    );
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const args = [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "consumer.ts"];
    const checked = await run(process.execPath, args, { cwd: project }).catch((err: { stdout: string }) => err);
    expect(checked.stdout.trim()).toBe("consumer.ts(6,14): error TS2322: Type 'string' is not assignable to type 'number'.");
  });

  it("runs on Node 20 and talks to a real gateway", async () => {
    expect((await run(OLDEST_NODE, ["--version"])).stdout).toMatch(/^v20\./);
    const cli = join(project, "node_modules/.bin/leasegate");
    const version = await run(OLDEST_NODE, [cli, "--version"]);
    expect(version.stdout.trim()).toContain(JSON.parse(readFileSync(join(root, "packages/leasegate/package.json"), "utf8")).version);
    const env = { PATH: process.env.PATH!, HOME: scratch, LEASEGATE_URL: ctx.gw.url, LEASEGATE_TOKEN: await ctx.jwt() };
    const ran = await run(OLDEST_NODE, [cli, "run", "npm-installed", "--ttl", "10s", "--", OLDEST_NODE, "-e", "console.log('fencing', process.env.LEASEGATE_FENCING_TOKEN)"], { env, cwd: project });
    expect(ran.stdout).toMatch(/^fencing \d+$/m);
    const status = await run(OLDEST_NODE, [cli, "status", "npm-installed", "--json"], { env, cwd: project }).catch((err: { stdout: string }) => err);
    expect(JSON.parse(status.stdout)).toMatchObject({ name: "npm-installed", status: "free" });
  });
});
