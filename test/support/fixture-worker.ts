import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { promisify } from "node:util";
import { convertV4MiniflareOptions, Miniflare } from "miniflare";

const root = new URL("../..", import.meta.url).pathname;

export interface FixtureWorker {
  worker: Miniflare;
  /** The bundle's text, as it would be uploaded. */
  bundle: string;
  dispose(): Promise<void>;
}

/**
 * A test Worker (`entry`, a path from the repository root) bundled as `wrangler deploy` bundles
 * it — with the gateway's wrangler.toml, or `config` — and run in workerd (Miniflare). The
 * apiserver's CA reaches workerd through NODE_EXTRA_CA_CERTS, set by the test runner.
 */
export async function startFixtureWorker(
  entry: string,
  options: { config?: string; compatibilityFlags: string[]; bindings: Record<string, string>; onLog?: (message: string) => void },
): Promise<FixtureWorker> {
  const outdir = mkdtempSync(join(tmpdir(), "leasegate-fixture-worker-"));
  await promisify(execFile)(
    join(root, "node_modules/.bin/wrangler"),
    ["deploy", "--dry-run", "--outdir", outdir, ...(options.config ? ["--config", options.config] : []), entry],
    // Wrangler runs on the pinned Node, whatever `node` comes first on the PATH.
    { cwd: root, env: { ...process.env, PATH: `${join(root, "node_modules/.bin")}:${process.env.PATH}`, WRANGLER_SEND_METRICS: "false", CI: "true" } },
  );
  const scriptPath = join(outdir, basename(entry).replace(/\.ts$/, ".js"));
  const worker = new Miniflare(
    convertV4MiniflareOptions({
      modules: true,
      scriptPath,
      modulesRoot: dirname(scriptPath),
      compatibilityDate: "2026-11-01",
      compatibilityFlags: options.compatibilityFlags,
      bindings: options.bindings,
      ...(options.onLog && { handleStructuredLogs: ({ message }: { message: string }) => options.onLog!(message) }),
    }),
  );
  await worker.ready;
  return {
    worker,
    bundle: readFileSync(scriptPath, "utf8"),
    async dispose() {
      await worker.dispose();
      rmSync(outdir, { recursive: true, force: true });
    },
  };
}
