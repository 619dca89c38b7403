import type { Logger } from "../http/errors.ts";

/** One JSON object a line on stderr, so that stdout carries only the `listening` event. */
export const logToStderr: Logger = (entry) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};
