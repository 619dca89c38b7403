/**
 * What the gateway's routes take and answer, inferred from the very zod schemas the gateway
 * validates and documents its API with (`src/http/schemas.ts`). Type-only imports: they are
 * erased when the client is run or bundled, so none of the gateway's code (nor zod) comes along.
 */
import type { z } from "zod";
import type {
  AcquireBody,
  GrantSchema,
  LeftSchema,
  LockListSchema,
  LockStateSchema,
  ReleasedSchema,
  VerifiedSchema,
} from "../http/schemas.ts";
import type { ProblemCode } from "../http/problem.ts";

/** A grant, as acquire and renew answer it. `token` is the secret that renews and releases it. */
export type Grant = z.infer<typeof GrantSchema>;

/** A lock's state (`GET /locks/:name`): no secrets. */
export type LockState = z.infer<typeof LockStateSchema>;

/** One place in a lock's line, first in line first. */
export type Waiter = LockState["queue"][number];

/** One grant that holds a lock now (a semaphore has up to `maxHolders`). */
export type Holder = LockState["holders"][number];

/** One page of `GET /locks`; `continue` fetches the next. */
export type LockList = z.infer<typeof LockListSchema>;

/** The body of `POST /locks/:name/acquire`. */
export type AcquireRequest = z.input<typeof AcquireBody>;

export type Released = z.infer<typeof ReleasedSchema>;
export type Left = z.infer<typeof LeftSchema>;
export type Verified = z.infer<typeof VerifiedSchema>;

/** The stable `code` of every problem the gateway answers (`type` is `urn:leasegate:problem:<code>`). */
export type GatewayProblemCode = ProblemCode;
