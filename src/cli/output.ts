import { displayJson, displayText } from "../client/display-text.ts";

/** Where the CLI writes: stdout for results, stderr for progress and errors. */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { isTTY?: boolean; columns?: number; write(text: string): unknown };
}

/** A value as a POSIX shell word: bare when safe, single-quoted otherwise. */
export function shellWord(value: string): string {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * `KEY=value` lines that are also valid shell assignments (`eval "$(leasegate acquire …)"`).
 * Values come from the gateway, so unprintable characters in them arrive escaped.
 */
export function assignments(pairs: Array<[string, string | number | undefined]>): string {
  return pairs
    .filter((pair): pair is [string, string | number] => pair[1] !== undefined)
    .map(([key, value]) => `${key}=${shellWord(displayText(value))}\n`)
    .join("");
}

/** What `--json` prints: the gateway's object, with unprintable characters as JSON escapes. */
export function jsonText(value: unknown): string {
  return `${displayJson(value)}\n`;
}

/** A plain text table with a header row; columns padded to their widest cell. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}\n`).join("");
}
