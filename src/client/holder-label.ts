import { UNPRINTABLE_CHARACTERS } from "../encoding/printable-text.ts";

const MAX_HOLDER = 128;
/** What the gateway refuses in a label (control and bidirectional formatting characters). */
const UNPRINTABLE_RUN = new RegExp(`[${UNPRINTABLE_CHARACTERS}]+`, "gu");

/**
 * A holder label the gateway accepts: one line of 1–128 printable characters. Runs of what it
 * refuses become one space; a longer label is cut and ends in `…`. Only for humans: the gateway
 * records the authenticated subject separately.
 */
export function holderLabel(label: string): string {
  const oneLine = label.replace(UNPRINTABLE_RUN, " ").trim();
  if (oneLine.length <= MAX_HOLDER) return oneLine;
  // Cut between code points: half a surrogate pair is not Unicode the gateway accepts.
  return `${oneLine.slice(0, MAX_HOLDER - 1).replace(/[\uD800-\uDBFF]$/, "")}…`;
}
