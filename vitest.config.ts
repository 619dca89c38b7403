import { configDefaults, defineConfig } from "vitest/config";

/**
 * Test files that need no Kubernetes: they run without the test cluster, so `npm test -- test/locks`
 * neither builds nor starts kube-apiserver. Every other file is an integration file; a new file
 * is one until it is listed here.
 */
const unitFiles = [
  "test/locks/**/*.test.ts",
  "test/crypto/**/*.test.ts",
  "test/auth/**/*.test.ts",
  "test/http/**/*.test.ts",
  "test/store/memory-store.test.ts",
  "test/kube/refusal-triage.test.ts",
  "test/kube/lease-watch.test.ts",
  "test/kube/go-json-escaping.test.ts",
  "test/infra/container-image.test.ts",
  "test/cli/parsing.test.ts",
  "test/cli/usage.test.ts",
  "test/cli/wait-progress.test.ts",
  "test/cli/gateway-url.test.ts",
  "test/cli/hostile-gateway.test.ts",
  "test/cli/queue-standing.test.ts",
  "test/gateway/readyz-cache.test.ts",
  "test/contention/history.test.ts",
  "test/ui/lock-views.test.ts",
  "test/ui/status-page-http.test.ts",
  "test/client/errors.test.ts",
  "test/client/unreliable-gateway.test.ts",
  "test/client/runtime-neutral.test.ts",
  "test/client/docs.test.ts",
  "test/webhooks/webhook-config.test.ts",
  "test/webhooks/webhook-payload.test.ts",
  "test/webhooks/webhook-signature.test.ts",
  "test/webhooks/webhook-delivery.test.ts",
  "test/webhooks/webhook-sink.test.ts",
  "test/history/lock-event-description.test.ts",
  "test/history/token-bucket.test.ts",
  "test/history/lock-history-recorder.test.ts",
  "test/history/lock-history-reader.test.ts",
  "test/history/event-name.test.ts",
  "test/history/lock-event-sinks.test.ts",
  "test/metrics/registry.test.ts",
  "test/metrics/jwt-rejection.test.ts",
  "test/metrics/http-metrics.test.ts",
  "test/metrics/analytics-engine-metrics.test.ts",
  "test/metrics/cluster-access.test.ts",
  "test/metrics/lock-state-gauges.test.ts",
  "test/metrics/metrics-exposure.test.ts",
];

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: "forks",
    maxWorkers: 3,
    projects: [
      {
        test: {
          name: "unit",
          include: unitFiles,
          // A unit file that reaches for the cluster fails here, also when integration files run beside it.
          env: { LEASEGATE_TEST_CLUSTER: "" },
        },
      },
      {
        test: {
          name: "integration",
          include: ["test/**/*.test.ts"],
          exclude: [...configDefaults.exclude, ...unitFiles],
          // Integration files share one apiserver; each gets its own namespace.
          globalSetup: ["test/support/cluster-setup.ts"],
        },
      },
    ],
  },
});
