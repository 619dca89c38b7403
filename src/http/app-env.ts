import type { Caller } from "../auth/caller.ts";
import type { Config } from "../config/schema.ts";
import type { Clock } from "../locks/clock.ts";
import type { ListCursors } from "../locks/list-cursor.ts";
import type { LockService } from "../locks/lock-service.ts";
import type { LockStore } from "../locks/lock-store.ts";
import type { TokenKeys } from "../locks/lock-token.ts";
import type { Policy } from "../auth/policy.ts";
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
}

export interface AppEnv {
  Variables: {
    caller: Caller;
    locks: LockService;
  };
}
