import type { AppDeps } from "../http/app-env.ts";

export type LockEventSink = NonNullable<AppDeps["onLockEvents"]>;

/**
 * Every consumer of lock events (history, metrics, webhooks) as the one `onLockEvents` the app
 * calls: each sink gets every request's events in turn, and one that throws keeps none of the
 * others from theirs. Undefined entries (a disabled feature) are skipped; none left, no sink.
 */
export function lockEventSinks(sinks: ReadonlyArray<LockEventSink | undefined>): LockEventSink | undefined {
  const present = sinks.filter((sink): sink is LockEventSink => sink !== undefined);
  if (present.length === 0) return undefined;
  return (events, context) => {
    for (const sink of present) {
      try {
        sink(events, context);
      } catch {
        // A sink must not throw; one that does loses its own events only.
      }
    }
  };
}
