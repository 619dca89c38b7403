import type { OpenAPIHono } from "@hono/zod-openapi";
import { JwtAuthenticator } from "./auth/jwt-authenticator.ts";
import { Policy } from "./auth/policy.ts";
import type { LoadedConfig } from "./config/load.ts";
import { semaphoreLimits } from "./config/semaphore-limits.ts";
import { type Sha256, webCryptoSha256 } from "./crypto/sha256.ts";
import { LockHistoryReader } from "./history/lock-history-reader.ts";
import { LockHistoryRecorder } from "./history/lock-history-recorder.ts";
import { createApp } from "./http/app.ts";
import type { AppEnv, MetricsEndpoint } from "./http/app-env.ts";
import type { Logger } from "./http/errors.ts";
import type { ApiserverRequestObserver } from "./kube/apiserver-request-observer.ts";
import type { ClusterAccess } from "./kube/cluster-access.ts";
import { type Clock, systemClock } from "./locks/clock.ts";
import { ListCursors } from "./locks/list-cursor.ts";
import { LockService } from "./locks/lock-service.ts";
import type { LockStore } from "./locks/lock-store.ts";
import { TokenKeys } from "./locks/lock-token.ts";
import { noDrops } from "./metrics/drop-counter.ts";
import type { GatewayMetrics } from "./metrics/gateway-metrics.ts";
import { LOCK_STATE_PAGE_SIZE } from "./metrics/lock-state-gauges.ts";
import { lockEventSinks } from "./observe/lock-event-sinks.ts";
import { webhookSink } from "./webhooks/webhook-sink.ts";

export interface GatewayOptions {
  loaded: LoadedConfig;
  store: LockStore;
  /** For HS256 issuers' secrets, named in the configuration. */
  env: Record<string, string | undefined>;
  log?: Logger;
  clock?: Clock;
  /** The cluster behind `store` (clusterAccessOf its LeaseApi): lock history goes there, and its requests are measured. */
  cluster?: ClusterAccess;
  /** Where counts go: Prometheus on Node, Analytics Engine on Workers. */
  metrics?: GatewayMetrics & { apiserverRequest?: ApiserverRequestObserver };
  /** The history Events' reportingInstance when the configuration names none (the runtime knows best). */
  reportingInstance?: string;
  /** `GET /metrics` on the API listener (Node, with a bearer secret). */
  metricsEndpoint?: MetricsEndpoint;
  /** The hashes every request needs: WebCrypto's unless the runtime has cheaper ones (Node). */
  sha256?: Sha256;
}

/** Wires configuration, credentials, a lock store and its observers into the app; shared by every entry point. */
export async function createGateway(options: GatewayOptions): Promise<OpenAPIHono<AppEnv>> {
  const { config, tokenKeys } = options.loaded;
  const { cluster, metrics, log, sha256 = webCryptoSha256 } = options;
  const [tokens, cursors] = await Promise.all([TokenKeys.import(tokenKeys, sha256), ListCursors.import(tokenKeys)]);
  if (cluster && metrics?.apiserverRequest) cluster.observeRequests(metrics.apiserverRequest);

  const historyOn = cluster !== undefined && config.history.enabled;
  const history = historyOn
    ? new LockHistoryRecorder({
        events: cluster.events,
        namespace: config.namespace,
        reportingInstance: config.history.reportingInstance ?? options.reportingInstance ?? "leasegate",
        maxEventsPerSecond: config.history.maxEventsPerSecond,
        burst: config.history.burst,
        written: (write) => metrics?.historyWritten(write),
        drops: metrics?.historyDrops ?? noDrops,
        log,
      })
    : undefined;

  // Signed webhooks on lock events; a sink that does nothing when none is configured.
  const webhooks = webhookSink(config.notifications, {
    namespace: config.namespace,
    secrets: options.env,
    log,
    onDropped: metrics ? (reason, endpoint) => metrics.webhookDrops.dropped(reason, endpoint) : undefined,
  });

  if (metrics?.readLockStateWith) {
    // The same reading of the locks as `GET /locks`, for gauges read at scrape time.
    const locks = new LockService({
      store: options.store,
      clock: options.clock ?? systemClock,
      tokens,
      cursors,
      namespace: config.namespace,
      skewAllowanceSeconds: config.skewAllowanceSeconds,
      ticketTtlSeconds: config.queueTicketTtlSeconds,
      maxHolders: semaphoreLimits(config.semaphores),
    });
    metrics.readLockStateWith((cursor) => locks.list(LOCK_STATE_PAGE_SIZE, cursor, "metrics"));
  }

  return createApp({
    config,
    store: options.store,
    authenticator: await JwtAuthenticator.create(config.issuers, options.env, {
      verifiedTokenCacheSeconds: config.verifiedTokenCacheSeconds,
      verifiedTokenCacheEntries: config.verifiedTokenCacheEntries,
      sha256,
    }),
    policy: new Policy(config.policy),
    tokens,
    cursors,
    clock: options.clock,
    log,
    // Every consumer of lock events, each on its own: one list for every runtime.
    onLockEvents: lockEventSinks([history?.sink, metrics && ((events, context) => metrics.lockEvents(events, context)), webhooks]),
    metrics,
    history: historyOn ? new LockHistoryReader({ events: cluster.events, namespace: config.namespace, cursors }) : undefined,
    metricsEndpoint: options.metricsEndpoint,
  });
}
