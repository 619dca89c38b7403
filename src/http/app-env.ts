import type { Caller } from "../auth/caller.ts";
import type { Config } from "../config/schema.ts";
import type { Clock } from "../locks/clock.ts";
import type { ListCursors } from "../locks/list-cursor.ts";
import type { LockEvent } from "../locks/lock-events.ts";
import type { LockService } from "../locks/lock-service.ts";
import type { LockStore } from "../locks/lock-store.ts";
import type { TokenKeys } from "../locks/lock-token.ts";
import type { Policy } from "../auth/policy.ts";
import type { LockHistoryReader } from "../history/lock-history-reader.ts";
import type { GatewayMetrics } from "../metrics/gateway-metrics.ts";
import type { Logger } from "./errors.ts";

/** Everything the app needs, built by an entry point (worker.ts, node.ts) or a test. */
export interface AppDeps {
  config: Config;
  store: LockStore;
  authenticator: { authenticate(authorization: string | undefined): Promise<Caller> };
  policy: Policy;
  tokens: TokenKeys;
  cursors: ListCursors;
  clock?: Clock;
  log?: Logger;
  /**
   * Told, after the answer is ready, of what a request did to locks (grants, releases, losses,
   * queue changes), with the caller that did it. Work it starts must go to `background`, which
   * keeps it alive after the response (a Worker's waitUntil) and never delays the answer.
   */
  onLockEvents?: (events: LockEvent[], context: LockEventContext) => void;
  /** Counts requests, lock operations and refused tokens; nothing is counted without it. */
  metrics?: GatewayMetrics;
  /** Serves `GET /locks/:name/history` (the lock's Kubernetes Events) when present. */
  history?: Pick<LockHistoryReader, "page">;
  /** Serves `GET /metrics` on this app, to callers that show its bearer secret, when present. */
  metricsEndpoint?: MetricsEndpoint;
}

export interface MetricsEndpoint {
  /** The Prometheus text exposition. */
  expose(): Promise<string>;
  bearerToken: string;
}

export interface LockEventContext {
  caller: Caller;
  background: (work: Promise<unknown>) => void;
}

export interface AppEnv {
  Variables: {
    caller: Caller;
    locks: LockService;
  };
}
