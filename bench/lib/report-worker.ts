/** The report's section on the Worker bundle and workerd's cold start, and their rows in the targets table. */
import type { WorkerBundleResult } from "../phases/worker-bundle.ts";
import { ms, summarize, table, verdict } from "./stats.ts";

export const WORKER_TARGETS = {
  /** Uncompressed bundle, bytes (decimal megabytes, as Cloudflare states its limits). */
  bundleBytes: 1_500_000,
};

const bytes = (n: number) => `${n.toLocaleString("en-US")} bytes (${(n / 1e6).toFixed(2)} MB)`;

export function workerTargetRows(w: WorkerBundleResult | undefined): string[][] {
  if (!w) return [];
  const healthy = summarize(w.starts.map((s) => s.healthyMs));
  return [
    [
      "Worker bundle (`wrangler deploy --dry-run`), uncompressed",
      `${bytes(w.bytes)}; gzip ${bytes(w.gzipBytes)}`,
      `≤ ${(WORKER_TARGETS.bundleBytes / 1e6).toFixed(1)} MB`,
      verdict(w.bytes <= WORKER_TARGETS.bundleBytes, bytes(w.bytes - WORKER_TARGETS.bundleBytes)),
    ],
    [
      "workerd cold start (Miniflare start → first `/healthz` 200)",
      `median ${healthy.p50.toFixed(0)} ms of ${healthy.n} starts (${healthy.min.toFixed(0)}–${healthy.max.toFixed(0)} ms)`,
      "reported, no goal",
      "–",
    ],
  ];
}

export function renderWorkerSection(w: WorkerBundleResult | undefined, section: number): string[] {
  if (!w) return [];
  const out: string[] = [];
  out.push(`## ${section}. Worker bundle and workerd cold start`);
  out.push("");
  out.push(
    "The bundle is the output of `wrangler deploy --dry-run` (`workerBundle()` in test/support/gateway.ts, the bundle every workerd test and section runs): " +
      "the modules wrangler would upload, without the source map. gzip is Node's zlib at its default level; Cloudflare's size limits apply to the compressed upload, " +
      "the target here to the uncompressed code workerd has to parse.",
  );
  out.push("");
  out.push(
    table(
      ["module", "bytes", "gzip bytes"],
      [...w.files.map((f) => [`\`${f.name}\``, f.bytes.toLocaleString("en-US"), f.gzipBytes.toLocaleString("en-US")]), ...(w.files.length > 1 ? [["all", w.bytes.toLocaleString("en-US"), w.gzipBytes.toLocaleString("en-US")]] : [])],
      ["l", "r", "r"],
    ),
  );
  out.push("");
  const ready = summarize(w.starts.map((s) => s.readyMs));
  const healthy = summarize(w.starts.map((s) => s.healthyMs));
  out.push(
    `A cold start runs from creating a Miniflare instance with the bundle (Miniflare writes workerd's configuration and starts a workerd process, which loads the bundle) ` +
      `to the first 200 from \`/healthz\`, polled every few ms; ${w.starts.length} starts one after another, each stopped before the next. ` +
      "It is a local measure: on Cloudflare an isolate's start is not a process start and is partly hidden behind the TLS handshake.",
  );
  out.push("");
  out.push(
    table(
      ["", "median", "min", "max", "every start"],
      [
        ["Miniflare ready", ms(ready.p50, 0), ms(ready.min, 0), ms(ready.max, 0), w.starts.map((s) => ms(s.readyMs, 0)).join(", ")],
        ["first `/healthz` 200", ms(healthy.p50, 0), ms(healthy.min, 0), ms(healthy.max, 0), w.starts.map((s) => ms(s.healthyMs, 0)).join(", ")],
      ],
      ["l", "r", "r", "r", "l"],
    ),
  );
  out.push("");
  out.push("Times in ms.");
  out.push("");
  return out;
}
