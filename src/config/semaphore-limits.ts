import { Glob } from "../auth/glob.ts";
import type { Config } from "./schema.ts";

/**
 * How many may hold each lock: the first `semaphores` entry whose pattern matches the name says,
 * and every other lock admits one.
 */
export function semaphoreLimits(entries: Config["semaphores"]): (name: string) => number {
  const compiled = entries.map((entry) => ({ patterns: entry.locks.map((pattern) => new Glob(pattern)), maxHolders: entry.maxHolders }));
  return (name) => compiled.find((entry) => entry.patterns.some((pattern) => pattern.matches(name)))?.maxHolders ?? 1;
}
