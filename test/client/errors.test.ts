import { describe, expect, it } from "vitest";
import { errorFromAnswer } from "../../src/client/error-from-answer.ts";
import {
  ForbiddenError,
  InvalidRequestError,
  LeaseNotManagedError,
  LeasegateError,
  LockContendedError,
  LockHeldError,
  LockLostError,
  LockNotFoundError,
  NotFoundError,
  PROBLEM_TYPE_PREFIX,
  UnauthorizedError,
  UnavailableError,
} from "../../src/client/errors.ts";
import { isLockLost, isTransient } from "../../src/client/failure-kinds.ts";
import { PROBLEMS, type ProblemCode, problemType } from "../../src/http/problem.ts";

/** The gateway's problem document for `code`, exactly as src/http/problem.ts writes it. */
function problemOf(code: ProblemCode, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: problemType(code), code, title: PROBLEMS[code].title, status: PROBLEMS[code].status, ...extra };
}

/** What a caller handles differently, for every problem the gateway answers. */
const EXPECTED: Record<ProblemCode, new (...args: never[]) => LeasegateError> = {
  invalid_request: InvalidRequestError,
  unauthenticated: UnauthorizedError,
  forbidden: ForbiddenError,
  not_found: NotFoundError,
  lock_not_found: LockNotFoundError,
  lock_held: LockHeldError,
  lock_lost: LockLostError,
  not_holder: LockLostError,
  lock_contended: LockContendedError,
  lease_not_managed: LeaseNotManagedError,
  payload_too_large: InvalidRequestError,
  headers_too_large: InvalidRequestError,
  unsupported_media_type: InvalidRequestError,
  internal: LeasegateError,
  backend_forbidden: LeasegateError,
  backend_invalid: LeasegateError,
  backend_unavailable: UnavailableError,
};

describe("errors from the gateway's answers", () => {
  it("recognise the gateway's problem types, defined once in src/http/problem.ts", () => {
    expect(problemType("lock_held")).toBe(`${PROBLEM_TYPE_PREFIX}lock_held`);
  });

  it.each(Object.keys(PROBLEMS) as ProblemCode[])("%s has the class a caller handles it by", (code) => {
    const err = errorFromAnswer(PROBLEMS[code].status, problemOf(code), undefined);
    expect(err.constructor).toBe(EXPECTED[code]);
    expect(err).toMatchObject({ code, status: PROBLEMS[code].status, fromGateway: true });
    expect(err.name).toBe(EXPECTED[code].name);
  });

  it("sort transient failures and lost grants apart", () => {
    expect(isTransient(errorFromAnswer(503, problemOf("backend_unavailable"), 2000))).toBe(true);
    expect(isTransient(errorFromAnswer(409, problemOf("lock_contended"), undefined))).toBe(true);
    expect(isTransient(errorFromAnswer(502, problemOf("backend_forbidden"), undefined))).toBe(false);
    expect(isLockLost(errorFromAnswer(409, problemOf("not_holder"), undefined))).toBe(true);
    expect(isLockLost(errorFromAnswer(404, problemOf("lock_not_found"), undefined))).toBe(true);
    expect(isLockLost(errorFromAnswer(409, problemOf("lock_held"), undefined))).toBe(false);
  });

  it("trust a code only from the gateway's own problem documents: anything else is classified by its status", () => {
    const proxy = errorFromAnswer(502, { code: "lock_lost", title: "Bad Gateway" }, undefined);
    expect(proxy).toBeInstanceOf(UnavailableError);
    expect(proxy).toMatchObject({ code: "http_502", fromGateway: false });
    const forged = errorFromAnswer(409, { type: "urn:other:lock_lost", code: "lock_lost" }, undefined);
    expect(forged).not.toBeInstanceOf(LockLostError);
    expect(forged.code).toBe("http_409");
    expect(errorFromAnswer(429, undefined, 5000)).toMatchObject({ name: "UnavailableError", retryAfterMs: 5000 });
    expect(errorFromAnswer(500, "<html>", undefined).constructor).toBe(LeasegateError);
  });

  it("say who holds the lock and where the caller stands, escaped, and never the ticket", () => {
    const ticket = `lgq1.${"A".repeat(43)}`;
    const held = errorFromAnswer(
      409,
      problemOf("lock_held", { detail: "held\n::error::x", holder: "deploy\x1b[2J #7", subject: "repo:org/app", expiresAt: "2026-11-24T16:03:11Z", position: 2, waiters: 3, ticket }),
      0,
    ) as LockHeldError;
    expect(held).toMatchObject({ holder: "deploy\x1b[2J #7", subject: "repo:org/app", position: 2, waiters: 3, ticket, retryAfterMs: 0 });
    expect(held.message).toBe(
      "lock_held: held\\x0a::error::x (HTTP 409); held by deploy\\x1b[2J #7 (repo:org/app) until 2026-11-24T16:03:11Z; position 2 of 3 in line",
    );
    expect(held.message).not.toContain(ticket);
  });

  it("leave out a ticket of a shape the gateway never issues, and numbers that are not counts", () => {
    const held = errorFromAnswer(409, problemOf("lock_held", { ticket: "lgq1.<script>", position: 0, waiters: -1 }), undefined) as LockHeldError;
    expect(held.ticket).toBeUndefined();
    expect(held.position).toBeUndefined();
    expect(held.waiters).toBeUndefined();
  });

  it("list the rules a request broke", () => {
    const invalid = errorFromAnswer(400, problemOf("invalid_request", { detail: "bad", errors: [{ path: "json.holder", message: "too long\u202e" }, "junk"] }), undefined);
    expect(invalid).toBeInstanceOf(InvalidRequestError);
    expect((invalid as InvalidRequestError).errors).toEqual([{ path: "json.holder", message: "too long\u202e" }]);
    expect(invalid.message).toBe("invalid_request: bad (HTTP 400): json.holder too long\\u{202e}");
  });
});
