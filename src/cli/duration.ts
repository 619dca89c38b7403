import { usageError } from "./errors.ts";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * Parses `90`, `90s`, `15m`, `1h30m`, `500ms` into milliseconds. A bare number is seconds.
 * `option` names the flag in the error message.
 */
export function parseDuration(text: string, option: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
    consumed = part.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw usageError(`${option}: "${text}" is not a duration (examples: 30s, 15m, 1h30m, 500ms)`);
  }
  return Math.round(total);
}

/** A TTL: whole seconds, at least one. */
export function parseTtlSeconds(text: string, option = "--ttl"): number {
  const ms = parseDuration(text, option);
  if (ms < 1000 || ms % 1000 !== 0) throw usageError(`${option}: must be a whole number of seconds, at least 1s (got "${text}")`);
  return ms / 1000;
}

/** `42s`, `1m05s`, `2h03m`: short, for progress lines. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.round(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
