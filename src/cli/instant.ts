import { displayText } from "../client/display-text.ts";

/** `2026-11-24T16:03:11Z`: a wall-clock instant, to the second; anything else escaped for display. */
export function formatInstant(iso: string | Date): string {
  const date = iso instanceof Date ? iso : new Date(typeof iso === "string" ? iso : Number.NaN);
  return Number.isNaN(date.getTime()) ? displayText(iso) : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
