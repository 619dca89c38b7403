/** Why a lock operation was refused; the HTTP layer maps each reason to one response. */
export type LockFailure =
  | "held"
  | "lost"
  | "not_holder"
  | "not_found"
  | "not_managed"
  | "invalid_token"
  | "contention"
  /** A list `continue` value this service did not issue, or one too old to resume from. */
  | "invalid_cursor"
  | "backend_unavailable"
  | "backend_forbidden"
  | "backend_invalid";

/** Who holds a lock: a grant of this service (with a subject) or another Lease client (identity only). */
export interface HeldBy {
  /** The Lease's holderIdentity, as every Lease client shows it. */
  holderIdentity: string;
  /** The grant's label; for another Lease client, its holder identity. */
  holder?: string;
  subject?: string;
  expiresAt?: Date;
}

/** Where a refused caller stands in the lock's line. */
export interface QueueStanding {
  /** Live tickets in line. */
  waiters: number;
  /** The caller's own place (1 = next) and the ticket that keeps it; only for a caller that waited. */
  position?: number;
  ticket?: string;
}

export class LockError extends Error {
  readonly reason: LockFailure;
  readonly heldBy?: HeldBy;
  readonly queue?: QueueStanding;
  /** Seconds after which a retry may succeed, when that is known. */
  readonly retryAfterSeconds?: number;
  constructor(
    reason: LockFailure,
    message: string,
    extra?: { heldBy?: HeldBy; retryAfterSeconds?: number; queue?: QueueStanding; cause?: unknown },
  ) {
    super(message, { cause: extra?.cause });
    this.name = "LockError";
    this.reason = reason;
    this.heldBy = extra?.heldBy;
    this.queue = extra?.queue;
    this.retryAfterSeconds = extra?.retryAfterSeconds;
  }
}
