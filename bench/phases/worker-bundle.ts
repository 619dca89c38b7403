/**
 * Phase 10: the Worker as it would be uploaded, and how long workerd takes to serve it. The size
 * is that of the `wrangler deploy --dry-run` output the workerd tests run (its modules; source maps
 * and the README wrangler writes beside them are not uploaded), raw and gzip-compressed. A cold
 * start runs from creating a Miniflare instance with that bundle (which starts a workerd process)
 * to the first 200 from its `/healthz`.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { GatewayHandle } from "../../test/support/gateway.ts";
import { sleep } from "../lib/stats.ts";

export interface WorkerBundleResult {
  files: Array<{ name: string; bytes: number; gzipBytes: number }>;
  bytes: number;
  gzipBytes: number;
  /** Per start: until Miniflare said it was ready, and until the first 200 from `/healthz`, ms. */
  starts: Array<{ readyMs: number; healthyMs: number }>;
}

export interface WorkerBundleOptions {
  /** The bundle's entry module (test/support/gateway.ts workerBundle()). */
  bundlePath: string;
  starts: number;
  /** A workerd gateway on that bundle, started afresh. */
  start(): Promise<GatewayHandle>;
  stop(gw: GatewayHandle): Promise<void>;
}

/** What `wrangler deploy` would upload from its output folder. */
const uploaded = (name: string) => !name.endsWith(".map") && name !== "README.md";

export async function measureWorkerBundle(options: WorkerBundleOptions): Promise<WorkerBundleResult> {
  const dir = dirname(options.bundlePath);
  const files = readdirSync(dir)
    .filter(uploaded)
    .sort()
    .map((name) => {
      const content = readFileSync(join(dir, name));
      return { name, bytes: content.length, gzipBytes: gzipSync(content).length };
    });
  const starts: WorkerBundleResult["starts"] = [];
  for (let i = 0; i < options.starts; i++) {
    const started = performance.now();
    const gw = await options.start();
    const readyMs = performance.now() - started;
    try {
      await untilHealthy(gw.url, 30_000);
      starts.push({ readyMs, healthyMs: performance.now() - started });
    } finally {
      await options.stop(gw);
    }
  }
  return {
    files,
    bytes: files.reduce((sum, f) => sum + f.bytes, 0),
    gzipBytes: files.reduce((sum, f) => sum + f.gzipBytes, 0),
    starts,
  };
}

async function untilHealthy(url: string, limitMs: number): Promise<void> {
  const deadline = performance.now() + limitMs;
  let last = "no answer";
  while (performance.now() < deadline) {
    try {
      const res = await fetch(`${url}/healthz`);
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `status ${res.status}`;
    } catch (err) {
      last = err instanceof Error ? err.message : String(err);
    }
    await sleep(2);
  }
  throw new Error(`${url}/healthz did not answer 200 within ${limitMs / 1000} s (last: ${last})`);
}
