import { describe, expect, it } from "vitest";
import { checkHistory, type Grant, type History, keptPlaces, type WaitingRequest, type Waiter } from "./history.ts";

/** The checker of the contention suite must catch each kind of violation it claims to. */
const grant = (holder: string, start: number, end: number, fencingToken: string, more: Partial<Grant> = {}): Grant => ({
  lock: "l",
  holder,
  fencingToken,
  token: "t",
  requestedAt: 0,
  start,
  end,
  validUntil: end,
  ...more,
});
const history = (over: Partial<History>): History => ({ grants: [], releases: [], heldAnswers: [], responses: [], waiters: [], ...over });

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

describe("the check of a lock several may hold at once", () => {
  const twoAtOnce = { maxHolders: () => 2 };

  it("accepts as many overlapping grants as the lock has places", () => {
    const grants = [grant("a", 0, 300, "5"), grant("b", 100, 400, "9"), grant("c", 350, 500, "12")];
    expect(checkHistory(history({ grants }), twoAtOnce).violations).toEqual([]);
  });

  it("reports a grant made while every place was taken", () => {
    const grants = [grant("a", 0, 300, "5"), grant("b", 100, 400, "9"), grant("c", 200, 500, "12")];
    expect(checkHistory(history({ grants }), twoAtOnce).violations).toEqual([expect.stringMatching(/c was granted .* while a until .*, b until .* held it \(at most 2/)]);
  });

  it("does not order the fencing tokens of grants whose requests overlapped", () => {
    // b asked before a's grant was answered: either may have been written first.
    const grants = [grant("a", 100, 300, "9", { requestedAt: 0 }), grant("b", 150, 400, "5", { requestedAt: 50 })];
    expect(checkHistory(history({ grants }), twoAtOnce).violations).toEqual([]);
  });

  it("reports a smaller fencing token for a grant first asked for after another was answered", () => {
    const grants = [grant("a", 100, 300, "9", { requestedAt: 0 }), grant("b", 250, 400, "5", { requestedAt: 200 })];
    expect(checkHistory(history({ grants }), twoAtOnce).violations).toEqual([expect.stringContaining("fencing token 5 (b) is not above 9 (a)")]);
  });
});

describe("the first-come-first-served check of waiters", () => {
  const TTL = 5_000;
  const rules = { ticketTtlMs: TTL };
  /** A waiting request of 1 s sent at `sentAt` and answered 1 s later. */
  const ask = (sentAt: number, outcome: WaitingRequest["outcome"], answeredAt = sentAt + 1_000): WaitingRequest => ({ sentAt, answeredAt, waitMs: 1_000, outcome });
  const waiter = (holder: string, requests: WaitingRequest[], more: Partial<Waiter> = {}): Waiter => ({ lock: "l", holder, requests, ...more });
  /** The holder before both waiters, known to every client: grant number 0. */
  const first = grant("first", 0, 5_000, "10", { transitions: 0 });
  /** A waits from 1 s (in line by 2 s); B arrives at 3 s; both wait in 1 s requests until granted. */
  const aQueued = [ask(1_000, "queued"), ask(2_000, "queued"), ask(3_000, "queued"), ask(4_000, "queued")];
  const bQueued = [ask(3_000, "queued"), ask(4_000, "queued")];

  it("accepts waiters granted in the order they joined, and counts the pair", () => {
    const a = grant("a", 5_200, 6_000, "20", { requestedAt: 1_000, transitions: 1 });
    const b = grant("b", 6_200, 7_000, "30", { requestedAt: 3_000, transitions: 2 });
    const waiters = [waiter("a", [...aQueued, ask(5_000, "granted", 5_200)]), waiter("b", [...bQueued, ask(5_000, "queued"), ask(6_000, "granted", 6_200)])];
    const report = checkHistory(history({ grants: [first, a, b], waiters }), rules);
    expect(report.violations).toEqual([]);
    expect(report.fifo).toMatchObject({ checkedPairs: 1, lapsedPairs: 0, unknownGrantPairs: 0 });
  });

  it("reports a waiter granted before one that was in line before it first asked", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 3_000, transitions: 1 });
    const a = grant("a", 6_200, 7_000, "30", { requestedAt: 1_000, transitions: 2 });
    const waiters = [waiter("a", [...aQueued, ask(5_000, "queued"), ask(6_000, "granted", 6_200)]), waiter("b", [...bQueued, ask(5_000, "granted", 5_200)])];
    const report = checkHistory(history({ grants: [first, b, a], waiters }), rules);
    expect(report.violations).toEqual([expect.stringMatching(/^l: b \(first asked at 3\.000s\) was granted fencing token 20 .* while a, in line since 2\.000s, still waited/)]);
    expect(report.fifo.checkedPairs).toBe(1);
  });

  it("reports a waiter overtaken by one that came later, also when it never got the lock", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 3_000, transitions: 1 });
    // A is still shown in line after B's grant, then gives up.
    const waiters = [waiter("a", [...aQueued, ask(5_000, "queued"), ask(6_000, "queued")], { leftAt: 7_500 }), waiter("b", [...bQueued, ask(5_000, "granted", 5_200)])];
    expect(checkHistory(history({ grants: [first, b], waiters }), rules).violations).toEqual([expect.stringContaining("while a, in line since 2.000s, still waited")]);
  });

  it("reports a caller without a place granted while a waiter was in line before it first asked", () => {
    const plain = grant("plain", 5_200, 6_000, "20", { requestedAt: 4_500, transitions: 1 });
    const waiters = [waiter("a", [...aQueued, ask(5_000, "queued"), ask(6_000, "granted", 6_200)])];
    const a = grant("a", 6_200, 7_000, "30", { requestedAt: 1_000, transitions: 2 });
    expect(checkHistory(history({ grants: [first, plain, a], waiters }), rules).violations).toEqual([expect.stringContaining("plain (first asked at 4.500s)")]);
  });

  it("does not order waiters whose joins overlapped: B asked before A was shown in line", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 1_500, transitions: 1 });
    const a = grant("a", 6_200, 7_000, "30", { requestedAt: 1_000, transitions: 2 });
    const waiters = [
      waiter("a", [...aQueued, ask(5_000, "queued"), ask(6_000, "granted", 6_200)]),
      waiter("b", [ask(1_500, "queued"), ask(2_500, "queued"), ask(3_500, "queued"), ask(4_500, "granted", 5_200)]),
    ];
    const report = checkHistory(history({ grants: [first, b, a], waiters }), rules);
    expect(report.violations).toEqual([]);
    expect(report.fifo.checkedPairs).toBe(0);
  });

  it("keeps the place of a waiter whose request failed when it was shown in line again within the ticket TTL", () => {
    // A's request at 3 s times out at 5.5 s; it asks again and is in line by 6.6 s, before 3 s + 1 s + TTL.
    const places = keptPlaces(waiter("a", [ask(1_000, "queued"), ask(2_000, "queued"), ask(3_000, "unknown", 5_500), ask(5_600, "queued")]), TTL);
    expect(places).toEqual([{ confirmedAt: 2_000, keptUntil: 5_600 + 1_000 + TTL, endsInGrant: false }]);
  });

  it("leaves out a pair when the earlier waiter's failures lasted past its ticket TTL, since its place may have lapsed", () => {
    const b = grant("b", 9_200, 10_000, "20", { requestedAt: 3_000, transitions: 1 });
    const a = grant("a", 11_200, 12_000, "30", { requestedAt: 1_000, transitions: 2 });
    // A's last request shown in line was sent at 2 s (its place renewed until 2 s + 1 s + 5 s); its next answer came at 9 s.
    const aRequests = [ask(1_000, "queued"), ask(2_000, "queued"), ask(3_000, "unknown", 5_500), ask(5_500, "unknown", 8_000), ask(8_000, "queued"), ask(10_000, "granted", 11_200)];
    const waiters = [waiter("a", aRequests), waiter("b", [...bQueued, ask(5_000, "queued"), ask(6_000, "queued"), ask(7_000, "queued"), ask(8_000, "granted", 9_200)])];
    const report = checkHistory(history({ grants: [first, b, a], waiters }), rules);
    expect(report.violations).toEqual([]);
    expect(report.fifo).toMatchObject({ checkedPairs: 0, lapsedPairs: 1, lapsedPlaces: 1 });
  });

  it("leaves out a pair when a grant nobody learnt of could have been the earlier waiter's", () => {
    // Grant number 1 was never answered to anyone: A's request at 4 s may have got it, its answer lost.
    const b = grant("b", 9_200, 10_000, "20", { requestedAt: 3_000, transitions: 2 });
    const a = grant("a", 10_200, 11_000, "30", { requestedAt: 1_000, transitions: 3 });
    const aRequests = [...aQueued.slice(0, 3), ask(4_000, "unknown", 6_500), ask(6_500, "queued", 7_500), ask(7_500, "queued", 8_500), ask(8_500, "queued", 9_500), ask(9_500, "granted", 10_200)];
    const waiters = [waiter("a", aRequests), waiter("b", [...bQueued, ask(5_000, "queued"), ask(6_000, "queued"), ask(7_000, "queued"), ask(8_000, "granted", 9_200)])];
    const report = checkHistory(history({ grants: [first, b, a], waiters }), rules);
    expect(report.violations).toEqual([]);
    expect(report.fifo).toMatchObject({ checkedPairs: 0, unknownGrantPairs: 1 });
  });

  it("does not count a waiter's place past the moment it left the line", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 3_000, transitions: 1 });
    const waiters = [waiter("a", aQueued, { leftAt: 4_500 }), waiter("b", [...bQueued, ask(5_000, "granted", 5_200)])];
    const report = checkHistory(history({ grants: [first, b], waiters }), rules);
    expect(report.violations).toEqual([]);
    expect(report.fifo.lapsedPairs).toBe(1);
  });

  it("reports two grants of one lock that claim the same transition number", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 3_000, transitions: 0 });
    const report = checkHistory(history({ grants: [first, b], waiters: [waiter("b", [...bQueued, ask(5_000, "granted", 5_200)])] }), rules);
    expect(report.violations).toEqual([expect.stringContaining("both say they are transition 0")]);
  });

  it("leaves out locks several may hold at once, where a waiter may be granted beside the one ahead", () => {
    const b = grant("b", 5_200, 6_000, "20", { requestedAt: 3_000, transitions: 1 });
    const waiters = [waiter("a", [...aQueued, ask(5_000, "queued"), ask(6_000, "queued")]), waiter("b", [...bQueued, ask(5_000, "granted", 5_200)])];
    expect(checkHistory(history({ grants: [first, b], waiters }), { ...rules, maxHolders: () => 2 }).violations).toEqual([]);
  });
});
