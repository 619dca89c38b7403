/** Small statistics and formatting helpers for the benchmark report. */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  mean: number;
  min: number;
  max: number;
}

/** Nearest-rank percentile of an ascending array. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((a, b) => a + b, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    mean: sorted.length ? sum / sorted.length : Number.NaN,
    min: sorted[0] ?? Number.NaN,
    max: sorted[sorted.length - 1] ?? Number.NaN,
  };
}

export const ms = (value: number, digits = 2): string => (Number.isFinite(value) ? value.toFixed(digits) : "–");
export const signedMs = (value: number, digits = 2): string => (Number.isFinite(value) ? `${value >= 0 ? "+" : ""}${value.toFixed(digits)}` : "–");
export const ratio = (value: number): string => (Number.isFinite(value) ? `${value.toFixed(2)}×` : "–");
export const pct = (value: number): string => (Number.isFinite(value) ? `${(value * 100).toFixed(0)} %` : "–");

/** A GitHub-flavoured markdown table. */
export function table(header: string[], rows: Array<Array<string | number>>, align?: Array<"l" | "r">): string {
  const sep = header.map((_, i) => ((align?.[i] ?? (i === 0 ? "l" : "r")) === "r" ? "---:" : "---"));
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c).replace(/\|/g, "\\|")).join(" | ")} |`;
  return [line(header), `| ${sep.join(" | ")} |`, ...rows.map(line)].join("\n");
}

export const sleep = (msec: number) => new Promise<void>((resolve) => setTimeout(resolve, msec));

/** A targets-table result cell. */
export const verdict = (ok: boolean, missBy: string): string => (ok ? "PASS" : `MISS by ${missBy}`);

/** KiB as MiB for a table cell; "–" when not measured. */
export const kib = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? "–" : `${(v / 1024).toFixed(1)} MiB`);
