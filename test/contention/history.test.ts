import { describe, expect, it } from "vitest";
import { checkHistory, type Grant, type History } from "./history.ts";

/** The checker of the contention suite must catch each kind of violation it claims to. */
const grant = (holder: string, start: number, end: number, fencingToken: string): Grant => ({
  lock: "l",
  holder,
  fencingToken,
  token: "t",
  start,
  end,
  validUntil: end,
});
const history = (over: Partial<History>): History => ({ grants: [], releases: [], heldAnswers: [], responses: [], ...over });

describe("the contention history check", () => {
  it("accepts back-to-back grants with growing fencing tokens", () => {
    expect(checkHistory(history({ grants: [grant("a", 0, 100, "5"), grant("b", 100, 200, "9")] })).violations).toEqual([]);
  });

  it("reports two grants of one lock that overlap", () => {
    expect(checkHistory(history({ grants: [grant("a", 0, 150, "5"), grant("b", 100, 200, "9")] })).violations).toHaveLength(1);
  });

  it("reports a fencing token that does not grow, compared as integers", () => {
    const report = checkHistory(history({ grants: [grant("a", 0, 100, "10"), grant("b", 100, 200, "9")] }));
    expect(report.violations).toEqual([expect.stringContaining("not above")]);
  });

  it("ignores a grant that arrived after it had expired, which its holder cannot use", () => {
    expect(checkHistory(history({ grants: [grant("late", 300, 200, "5"), grant("b", 250, 400, "9")] })).violations).toEqual([]);
  });

  it("reports a release that was acknowledged and then forgotten", () => {
    const report = checkHistory(
      history({ releases: [{ lock: "l", holder: "a", answeredAt: 10 }], heldAnswers: [{ lock: "l", holder: "a", sentAt: 20 }] }),
    );
    expect(report.violations).toHaveLength(1);
  });

  it("reports any 5xx but 503 backend_unavailable with Retry-After, and 4xx other than 409", () => {
    const answer = { op: "acquire", sentAt: 0, answeredAt: 1 };
    const report = checkHistory(
      history({
        responses: [
          { ...answer, status: 503, code: "backend_unavailable", retryAfter: "1" },
          { ...answer, status: 503, code: "backend_unavailable", retryAfter: null },
          { ...answer, status: 500, code: "internal", retryAfter: null },
          { ...answer, status: 400, code: "invalid_request" },
          { ...answer, status: 409, code: "lock_held" },
        ],
      }),
    );
    expect(report.violations).toHaveLength(3);
    expect(report.byStatus).toEqual({ "503": 2, "500": 1, "400": 1, "409": 1 });
  });
});
