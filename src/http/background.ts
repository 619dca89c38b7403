import type { Context } from "hono";
import { getRuntimeKey } from "hono/adapter";

/** Hands work that must outlive the answer to whatever keeps it alive; its failures are the work's own business. */
export type Background = (work: Promise<unknown>) => void;

/**
 * On Node the process outlives every answer, so nothing needs to hold work open there. Hono's
 * `executionCtx` getter throws (building an Error and its stack) when there is no context, which
 * is the case for every request on Node: the runtime is asked once instead.
 */
const OUTLIVES_ANSWERS = getRuntimeKey() === "node";

/**
 * Where work after the answer goes: a Worker's waitUntil keeps it alive past the response; on
 * Node the process lives on anyway.
 */
export function backgroundOf(c: Context): Background {
  const waitUntil = OUTLIVES_ANSWERS ? undefined : waitUntilOf(c);
  return (work) => {
    const settled = work.catch(() => {});
    waitUntil?.(settled);
  };
}

function waitUntilOf(c: Context): Background | undefined {
  try {
    const context = c.executionCtx;
    return (work) => context.waitUntil(work);
  } catch {
    // No execution context to give (a runtime other than Workers).
    return undefined;
  }
}
