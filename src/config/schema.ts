import { z } from "zod";
import { lockPatternProblem } from "../auth/lock-pattern.ts";
import { webhooksConfigSchema } from "../webhooks/webhook-config.ts";

/**
 * The whole configuration, validated once at start-up. Non-secret settings come as one JSON
 * document (LEASEGATE_CONFIG, or a file on Node); secrets come from their own variables so that
 * `wrangler secret put` and Kubernetes Secrets can hold them.
 */
const glob = z.string().min(1).max(512);
/** A lock glob whose `${claim}` placeholders keep every caller to its own locks (rule: src/auth/lock-pattern.ts). */
const lockGlob = glob.superRefine((pattern, context) => {
  const problem = lockPatternProblem(pattern);
  if (problem !== null) context.addIssue({ code: "custom", message: problem });
});
const seconds = (max: number) => z.number().int().min(0).max(max);

export const actionSchema = z.enum(["acquire", "renew", "release", "read", "admin"]);
export type Action = z.infer<typeof actionSchema>;

export const issuerSchema = z
  .object({
    /** Exact `iss` value. */
    issuer: z.string().min(1),
    /** Accepted `aud` values; at least one must be present in the token. */
    audiences: z.array(z.string().min(1)).min(1),
    /** Remote JWKS, fetched and cached by jose (with rotation on unknown `kid`). */
    jwksUri: z.url({ protocol: /^https?$/ }).optional(),
    /** Static JWKS document. */
    jwks: z.object({ keys: z.array(z.record(z.string(), z.unknown())).min(1) }).optional(),
    /** Static SPKI PEM public keys. */
    publicKeys: z.array(z.string().includes("BEGIN PUBLIC KEY")).min(1).optional(),
    /** Name of the environment variable holding an HS256 secret; needs `allowHs256`. */
    hs256SecretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/).optional(),
    allowHs256: z.boolean().default(false),
    /** Asymmetric algorithms accepted for this issuer. */
    algorithms: z
      .array(z.enum(["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"]))
      .min(1)
      .default(["RS256", "ES256"]),
    clockToleranceSeconds: seconds(300).default(30),
    /** Claim that identifies the caller within this issuer. */
    subjectClaim: z.string().min(1).default("sub"),
    /**
     * Tokens longer than this are refused: before any parsing when longer than every issuer's
     * limit, otherwise as soon as the token's `iss` names this issuer.
     */
    maxTokenBytes: z.number().int().min(512).max(65536).default(8192),
  })
  .strict()
  .refine((i) => [i.jwksUri, i.jwks, i.publicKeys, i.hs256SecretEnv].filter(Boolean).length === 1, {
    message: "set exactly one of jwksUri, jwks, publicKeys or hs256SecretEnv",
  })
  .refine((i) => !i.hs256SecretEnv || i.allowHs256, {
    message: "hs256SecretEnv needs allowHs256: true (shared secrets are opt-in)",
  });
export type IssuerConfig = z.infer<typeof issuerSchema>;

export const policyRuleSchema = z
  .object({
    /** Human-readable name, shown in logs when the rule decides. */
    description: z.string().optional(),
    /** Claim name → exact value or glob (`*` any run of characters, `?` one). `iss` and `sub` included. */
    match: z.record(z.string().min(1), z.union([glob, z.array(glob).min(1)])),
    actions: z.array(actionSchema).min(1),
    /**
     * Lock-name globs this rule covers. `${claim}` inserts a claim's value, e.g. `ci-${repository_id}-*`:
     * only fixed text may precede it and `-`, `.` or the end of the pattern must follow it.
     */
    locks: z.array(lockGlob).min(1),
  })
  .strict();
export type PolicyRule = z.infer<typeof policyRuleSchema>;

export const kubernetesSchema = z
  .object({
    /** Node only: a kubeconfig file (else KUBECONFIG, else in-cluster, else the local test cluster). */
    kubeconfig: z.string().optional(),
    /** Node only: use the pod's service account. */
    inCluster: z.boolean().optional(),
    /** Direct mode (Workers, or Node without kubeconfig): the apiserver or tunnel URL. Bearer token: LEASEGATE_KUBE_TOKEN. */
    server: z.url({ protocol: /^https?$/ }).optional(),
    /** Workers: name of a service binding (e.g. Workers VPC) whose fetch carries Kubernetes traffic. */
    fetchBinding: z.string().optional(),
    /** Per-request timeout towards the apiserver. */
    requestTimeoutMs: z.number().int().min(100).max(60000).default(5000),
  })
  .strict()
  .default({ requestTimeoutMs: 5000 });

export const configSchema = z
  .object({
    namespace: z.string().regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, "must be a Kubernetes namespace name").max(63).default("leasegate"),
    defaultTtlSeconds: z.number().int().min(1).default(30),
    maxTtlSeconds: z.number().int().min(1).max(86400).default(3600),
    /**
     * The longest one acquire request waits for a held lock. Below the idle timeouts of common
     * proxies and of Workers, so a waiting request is never cut; longer waits are a series of them.
     */
    maxWaitSeconds: z.number().int().min(0).max(300).default(50),
    /**
     * How long a waiter keeps its place in a lock's queue after a waiting request ended: it must
     * call again within this time. A waiter that stopped calling drops out of line after it.
     */
    queueTicketTtlSeconds: z.number().int().min(2).max(300).default(15),
    /**
     * Locks that admit several holders at once (counting semaphores): the first entry whose
     * pattern matches a lock name sets its `maxHolders`; every other lock admits one. All holders
     * share the lock's Lease, so fencing tokens stay one increasing sequence per lock.
     */
    semaphores: z
      .array(
        z
          .object({
            locks: z.array(glob).min(1),
            /** Capped because every holder is kept on the one Lease (annotations hold at most 256 KiB). */
            maxHolders: z.number().int().min(1).max(32),
          })
          .strict(),
      )
      .default([]),
    skewAllowanceSeconds: seconds(60).default(2),
    /** Seconds a verified JWT is remembered (never past its `exp`); 0 verifies every request. See docs/jwt-cache.md. */
    verifiedTokenCacheSeconds: seconds(300).default(60),
    /** The most verified JWTs remembered at once (and never more than 8 MiB of them). */
    verifiedTokenCacheEntries: z.number().int().min(1).max(1_000_000).default(10_000),
    issuers: z.array(issuerSchema).min(1),
    policy: z.array(policyRuleSchema).default([]),
    kubernetes: kubernetesSchema,
    /** Where lock events are sent as signed Standard Webhooks (docs/webhooks.md). */
    notifications: webhooksConfigSchema,
    /** Logs one JSON line per request when true. */
    accessLog: z.boolean().default(true),
    /**
     * Lock history: each grant, release, takeover, force release, lost renewal and queue change
     * as an events.k8s.io/v1 Event about the lock's Lease, written after the answer.
     */
    history: z
      .object({
        enabled: z.boolean().default(true),
        /** New Events per second at most, per process (per isolate on Workers); more are dropped and counted. */
        maxEventsPerSecond: z.number().min(0.1).max(1000).default(5),
        /** How many may be written at once after a quiet spell. */
        burst: z.number().int().min(1).max(10000).default(20),
        /** The Events' reportingInstance; by default the host name on Node (the pod's name), `workers` on Workers. */
        reportingInstance: z.string().min(1).max(128).regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces").optional(),
      })
      .strict()
      .prefault({}),
    metrics: z
      .object({
        /** How long the lock-state gauges (held locks, holders, waiters) are reused between scrapes; a refresh lists the Leases. */
        lockStateMaxAgeSeconds: z.number().int().min(0).max(3600).default(15),
        /** Workers: the name of a Workers Analytics Engine dataset binding that gets one data point per request and lock event. */
        analyticsEngineBinding: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .refine((c) => c.defaultTtlSeconds <= c.maxTtlSeconds, { message: "defaultTtlSeconds must not exceed maxTtlSeconds", path: ["defaultTtlSeconds"] });

export type Config = z.infer<typeof configSchema>;

/** Secrets, each from its own variable. */
export const secretsSchema = z.object({
  /** Comma-separated base64url keys (≥32 bytes each); the first signs lock tokens, all verify. */
  LEASEGATE_TOKEN_KEYS: z
    .string()
    .min(1, "is required: generate one with `openssl rand -base64 32`")
    .transform((v) => v.split(",").map((k) => k.trim())),
  LEASEGATE_KUBE_TOKEN: z.string().min(1).optional(),
  LEASEGATE_ACCESS_CLIENT_ID: z.string().min(1).optional(),
  LEASEGATE_ACCESS_CLIENT_SECRET: z.string().min(1).optional(),
});
