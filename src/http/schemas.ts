import { z } from "@hono/zod-openapi";
import { lockNameProblem } from "../locks/lock-name.ts";
import { unprintableTextProblem } from "../encoding/printable-text.ts";
import { isLockTokenShaped, LOCK_TOKEN_MAX_LENGTH } from "../locks/lock-token-format.ts";
import { TICKET_PATTERN } from "../locks/queue-ticket.ts";

const METADATA_MAX_BYTES = 4096;

export const LockNameParam = z.object({
  name: z
    .string()
    .superRefine((name, ctx) => {
      const problem = lockNameProblem(name);
      if (problem) ctx.addIssue({ code: "custom", message: `lock name ${problem}` });
    })
    .openapi({
      param: { name: "name", in: "path" },
      description: "A Kubernetes Lease name (DNS-1123 subdomain): lower-case letters, digits, '-' and '.', at most 253 characters.",
      example: "deploy-prod",
    }),
});

const queueTicket = z.string().regex(TICKET_PATTERN, "is not a queue ticket this API issued").openapi({
  description: "The `ticket` of a previous 409 after a wait: it keeps the caller's place in line. Secret; only its caller can use it.",
});

const lockToken = z
  .string()
  .min(1)
  .max(LOCK_TOKEN_MAX_LENGTH)
  .refine(isLockTokenShaped, "is not a leasegate lock token")
  .openapi({ description: "The secret token returned by acquire; it opens that one grant and no other." });

/** Holder labels and metadata are shown to other callers, in terminals, CI logs and kubectl. */
function refusePrintableTextProblem(text: string, ctx: z.RefinementCtx): void {
  const problem = unprintableTextProblem(text);
  if (problem) ctx.addIssue({ code: "custom", message: problem });
}

const ttlSeconds = z.number().int().min(1).openapi({ description: "Validity of the grant in seconds; capped by the gateway's maximum." });

export const AcquireBody = z
  .object({
    holder: z
      .string()
      .min(1)
      .max(128)
      // An unpaired surrogate has no UTF-8 form: the Lease would keep U+FFFD, not what was granted.
      .refine((s) => !/[\uD800-\uDFFF]/u.test(s), "must be well-formed Unicode (no unpaired surrogates)")
      .superRefine(refusePrintableTextProblem)
      .optional()
      .openapi({ description: "A label for the caller (host, pipeline run…), shown to others." }),
    ttlSeconds: ttlSeconds.optional(),
    waitSeconds: z.number().int().min(0).optional().openapi({
      description:
        "Wait up to this long, in line: the caller takes a place in the lock's queue (first come, first served, across all " +
        "gateway replicas) and the request stays open until the lock is granted to it (200; a release wakes the first in line " +
        "at once) or the wait ends: 409 `lock_held` with the caller's `position`, the number of `waiters`, its `ticket` and " +
        "`Retry-After: 0`. Call again within `queueTicketTtlSeconds` (15 by default) with that `ticket` (or the same " +
        "Idempotency-Key) to keep the place; a waiter that stops calling drops out of line. Capped by the gateway's " +
        "`maxWaitSeconds` (50 by default); 0 or absent answers at once, and then a lock others wait for is not free.",
      example: 30,
    }),
    ticket: queueTicket.optional(),
    metadata: z
      .record(
        // Stricter than the printable-text rule, which it implies.
        z.string().min(1).max(63).regex(/^[A-Za-z0-9_.-]+$/, "metadata keys may contain letters, digits, '_', '.' and '-'"),
        z.string().superRefine(refusePrintableTextProblem),
        // A bad key is reported as the record's own issue, whose default message says only "Invalid key".
        { error: (issue) => (issue.code === "invalid_key" ? "metadata keys must be 1 to 63 letters, digits, '_', '.' or '-'" : undefined) },
      )
      .refine((m) => new TextEncoder().encode(JSON.stringify(m)).length <= METADATA_MAX_BYTES, {
        message: `metadata must be at most ${METADATA_MAX_BYTES} bytes as JSON`,
      })
      .optional(),
  })
  .strict()
  .openapi("AcquireRequest");

export const LeaveBody = z.object({ ticket: queueTicket.optional() }).strict().openapi("LeaveRequest");
export const LeftSchema = z.object({ left: z.boolean().openapi({ description: "False when the caller had no place in line (any more)." }) }).openapi("Left");

export const RenewBody = z.object({ token: lockToken, ttlSeconds: ttlSeconds.optional() }).strict().openapi("RenewRequest");
export const ReleaseBody = z.object({ token: lockToken }).strict().openapi("ReleaseRequest");

export const IdempotencyHeader = z.object({
  "idempotency-key": z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x21-\x7e]+$/, "must be printable ASCII without spaces")
    .optional()
    .openapi({
      param: { name: "idempotency-key", in: "header" },
      description: "Makes a retried acquire by the same caller return the existing grant instead of 409.",
    }),
});

export const ListQuery = z.object({
  prefix: z.string().max(253).regex(/^[a-z0-9.-]*$/, "may contain only lower-case letters, digits, '-' and '.'").optional(),
  limit: z.coerce.number().int().min(1).max(500).default(100),
  continue: z.string().max(4096).optional().openapi({ description: "The `continue` value of the previous page of the same listing (same caller, same `prefix`)." }),
});

const date = z.string().openapi({ format: "date-time" });
const fencingToken = z.string().regex(/^[0-9]+$/).openapi({
  description: "Decimal, strictly increasing across grants of one lock: store the highest you have seen and reject smaller ones.",
  example: "48213",
});

export const GrantSchema = z
  .object({
    name: z.string(),
    namespace: z.string(),
    lease: z.string().openapi({ description: "The Lease object's name." }),
    holder: z.string().optional(),
    holderIdentity: z.string().openapi({ description: "The Lease's `spec.holderIdentity` while this grant holds it." }),
    subject: z.string(),
    token: z.string().openapi({ description: "Secret: renew and release need it. Never logged." }),
    fencingToken,
    acquiredAt: date,
    renewedAt: date,
    expiresAt: date,
    ttlSeconds: z.number().int(),
    transitions: z.number().int(),
    metadata: z.record(z.string(), z.string()),
  })
  .openapi("Grant");

export const LockStateSchema = z
  .object({
    name: z.string(),
    namespace: z.string(),
    status: z.enum(["held", "expired", "free"]),
    holderIdentity: z.string().optional().openapi({
      description: "The Lease's `spec.holderIdentity`: a leasegate grant, or another Lease client (then no subject or fencing token).",
    }),
    holder: z.string().optional(),
    subject: z.string().optional(),
    issuer: z.string().optional(),
    fencingToken: fencingToken.optional(),
    acquiredAt: date.optional(),
    renewedAt: date.optional(),
    expiresAt: date.optional(),
    ttlSeconds: z.number().int(),
    transitions: z.number().int(),
    metadata: z.record(z.string(), z.string()),
    forcedRelease: z.object({ by: z.string(), issuer: z.string().optional(), at: date }).optional(),
    maxHolders: z.number().int().openapi({ description: "How many may hold the lock at once (more than 1: a semaphore)." }),
    holders: z
      .array(
        z.object({
          holderIdentity: z.string(),
          holder: z.string().optional(),
          subject: z.string(),
          issuer: z.string().optional(),
          fencingToken,
          acquiredAt: date,
          renewedAt: date,
          expiresAt: date,
          metadata: z.record(z.string(), z.string()),
        }),
      )
      .openapi({ description: "Every grant that holds the lock now (for a semaphore, up to `maxHolders`); another Lease client's hold is in `holderIdentity` only." }),
    waiters: z.number().int().openapi({ description: "How many callers wait in line." }),
    queue: z
      .array(
        z.object({
          position: z.number().int().openapi({ description: "1 is next." }),
          holderIdentity: z.string(),
          holder: z.string().optional(),
          subject: z.string(),
          issuer: z.string().optional(),
          waitingSince: date,
          expiresAt: date.openapi({ description: "When this waiter drops out of line unless it calls again." }),
        }),
      )
      .openapi({ description: "The line, first in line first." }),
  })
  .openapi("LockState");

export const LockListSchema = z.object({ items: z.array(LockStateSchema), continue: z.string().optional() }).openapi("LockList");
export const VerifyBody = z
  .object({ fencingToken: z.string().regex(/^[0-9]{1,20}$/, "must be a decimal fencing token").openapi({ example: "48213" }) })
  .strict()
  .openapi("VerifyRequest");
export const VerifiedSchema = z
  .object({
    live: z.boolean().openapi({ description: "True while the grant with this fencing token holds the lock, at the moment of asking." }),
    expiresAt: date.optional().openapi({ description: "When that grant ends unless renewed." }),
  })
  .openapi("Verified");

export const ReleasedSchema = z.object({ released: z.boolean() }).openapi("Released");

export const ProblemSchema = z
  .object({
    type: z.string(),
    code: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
  })
  .passthrough()
  .openapi("Problem");
