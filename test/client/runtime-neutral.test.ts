import { execFile } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

/**
 * `leasegate/client` runs on Node ≥ 20, Cloudflare Workers, Deno and Bun: it may use fetch,
 * WebCrypto, AbortSignal and timers, and nothing of Node. (test/client/workerd.test.ts runs it
 * in workerd.)
 */
const root = new URL("../..", import.meta.url).pathname;
const clientDir = join(root, "src/client");

describe("src/client", () => {
  it("type-checks without Node's types, with its Worker fixtures", async () => {
    const run = promisify(execFile);
    const result = await run(join(root, "node_modules/.bin/tsc"), ["-p", "test/client/fixtures/tsconfig.runtime-neutral.json"], { cwd: root }).catch(
      (err: { stdout: string; code: number }) => err,
    );
    expect(result.stdout).toBe("");
  });

  it.each(readdirSync(clientDir).filter((file) => file.endsWith(".ts")))("%s imports no Node built-in and nothing of the gateway at run time", (file) => {
    const source = readFileSync(join(clientDir, file), "utf8");
    expect(source).not.toMatch(/from\s+"node:|require\(|\bprocess\.|\bBuffer\b/);
    // The gateway's modules only for their types (erased), the shared name and token rules in full.
    for (const [, typeOnly, path] of source.matchAll(/^(?:import|export)\s+(type\s+)?[^;]*?from\s+"(\.\.\/[^"]+)"/gms)) {
      if (!typeOnly) expect(path, `${file} imports ${path}`).toMatch(/^\.\.\/(locks\/(lock-name|queue-ticket)|encoding\/printable-text)\.ts$/);
    }
  });
});
