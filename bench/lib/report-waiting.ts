/** The report's sections on waiting in line: hand-over latency, throughput with waiting clients, apiserver requests while waiting. */
import type { HandoverRow } from "../phases/handover.ts";
import type { ThroughputResult } from "../phases/throughput.ts";
import type { DirectPollingRow, Interval, WaitingRequestsRow } from "../phases/waiting-requests.ts";
import type { WaitingThroughputResult } from "../phases/waiting-throughput.ts";
import { KUBE_VERBS } from "./counting-proxy.ts";
import { ms, pct, summarize, table, verdict } from "./stats.ts";

export interface WaitingThroughputRow {
  pair: string;
  locks: number;
  clients: number;
  waiting: WaitingThroughputResult;
  /** The direct client-go-style loop for the same configuration: from section 3 of this run, or measured beside the waiting run. */
  direct?: ThroughputResult;
  directFrom: "section 3" | "measured here";
  /** The gateway with polling clients, from section 3 of this run (absent when that phase did not run). */
  polling?: ThroughputResult;
  /** CPU time during the waiting run: the benchmark process (HTTP clients) and the gateway process. */
  cpu: { clientMs: number; gatewayProcessMs: number };
}

export interface WaitingResults {
  params: {
    handoverRounds: number;
    handoverWarmup: number;
    handoverWaitSeconds: number;
    handoverSettleMs: number;
    waitingWarmupMs: number;
    waitingWarmupLimitMs: number;
    waitingMs: number;
    waitingWaitSeconds: number;
    steadyMs: number;
  };
  handover: HandoverRow[];
  waitingThroughput: WaitingThroughputRow[];
  waitingRequests: WaitingRequestsRow[];
  directPolling?: DirectPollingRow;
}

export const WAITING_TARGETS = {
  handoverP50Ms: 250,
  handoverP99Ms: 1000,
  /** Waiting cycles per second at least the direct loop's. */
  throughputRatio: 1,
  /** 64 clients on one lock keep at least this share of the 8-client rate ("no collapse"). */
  noCollapseShare: 0.5,
};

const waitingRatio = (t: WaitingThroughputRow) =>
  t.direct === undefined ? Number.NaN : t.direct.perSecond > 0 ? t.waiting.perSecond / t.direct.perSecond : t.waiting.perSecond > 0 ? Infinity : Number.NaN;

/** Clients that completed no cycle in a window long enough for every client to have had two turns. */
function starved(t: WaitingThroughputRow): number | undefined {
  if (t.waiting.cycles < 2 * t.clients) return undefined;
  return t.waiting.perClient.filter((n) => n === 0).length;
}

function handoverVerdict(samples: number[]): { ok: boolean; text: string } {
  const s = summarize(samples);
  const p50ok = s.p50 <= WAITING_TARGETS.handoverP50Ms;
  const p99ok = s.p99 <= WAITING_TARGETS.handoverP99Ms;
  if (s.n === 0) return { ok: false, text: "MISS (no hand-over measured)" };
  if (p50ok && p99ok) return { ok: true, text: "PASS" };
  return {
    ok: false,
    text: [
      p50ok ? "p50 PASS" : `p50 MISS by ${(s.p50 - WAITING_TARGETS.handoverP50Ms).toFixed(0)} ms`,
      p99ok ? "p99 PASS" : `p99 MISS by ${(s.p99 - WAITING_TARGETS.handoverP99Ms).toFixed(0)} ms`,
    ].join(", "),
  };
}

/** 64 clients vs 8 on one lock, per transport; undefined when either is missing. */
function collapseOf(rows: WaitingThroughputRow[], pair: string): { share: number; few: WaitingThroughputRow; many: WaitingThroughputRow } | undefined {
  const oneLock = rows.filter((t) => t.pair === pair && t.locks === 1).sort((a, b) => a.clients - b.clients);
  const few = oneLock[0];
  const many = oneLock[oneLock.length - 1];
  if (!few || !many || few === many) return undefined;
  return { share: few.waiting.perSecond > 0 ? many.waiting.perSecond / few.waiting.perSecond : Number.NaN, few, many };
}

const perSecond = (i: Interval) => (i.seconds > 0 ? i.counts.total / i.seconds : Number.NaN);
/** `get lock`, `list tickets`… in the order of KUBE_VERBS, then by name. */
function targetsOf(i: Interval): Array<[string, number]> {
  const rank = (target: string) => KUBE_VERBS.indexOf(target.split(" ")[0] as (typeof KUBE_VERBS)[number]);
  return Object.entries(i.counts.byTarget)
    .filter(([, n]) => n > 0)
    .sort(([a], [b]) => rank(a) - rank(b) || a.localeCompare(b));
}
function byTargetPerSecond(i: Interval): string {
  const parts = targetsOf(i).map(([target, n]) => `${(n / i.seconds).toFixed(2)} ${target}`);
  return parts.length ? parts.join(" + ") : "none";
}
function byTargetCount(i: Interval): string {
  const parts = targetsOf(i).map(([target, n]) => `${n} ${target}`);
  return parts.length ? parts.join(" + ") : "none";
}

const codes = (refusals: Record<string, number>) => Object.entries(refusals).map(([code, k]) => `${k} × ${code}`).join(", ") || "none";

/** Rows for the report's Targets table. */
export function waitingTargetRows(r: WaitingResults): string[][] {
  const rows: string[][] = [];
  for (const h of r.handover) {
    const s = summarize(h.handoverMs);
    rows.push([
      `hand-over latency (release answer → next waiter's 200), ${h.id}`,
      `p50 ${ms(s.p50, 0)} ms, p99 ${ms(s.p99, 0)} ms (${s.n} rounds)`,
      `p50 ≤ ${WAITING_TARGETS.handoverP50Ms} ms, p99 ≤ ${WAITING_TARGETS.handoverP99Ms / 1000} s`,
      handoverVerdict(h.handoverMs).text,
    ]);
  }
  for (const pair of [...new Set(r.waitingThroughput.map((t) => t.pair))]) {
    const pairRows = r.waitingThroughput.filter((t) => t.pair === pair);
    const ratios = pairRows.map((t) => waitingRatio(t));
    const worst = Math.min(...ratios.map((x) => (Number.isNaN(x) ? 0 : x)));
    const worstRow = pairRows[ratios.findIndex((x) => (Number.isNaN(x) ? 0 : x) === worst)];
    const meeting = ratios.filter((x) => x >= WAITING_TARGETS.throughputRatio).length;
    rows.push([
      `cycle throughput with waiting clients vs the direct loop (${pair} transport)`,
      `${meeting}/${pairRows.length} configurations ≥ direct; worst ${pct(worst)}${worstRow ? ` (${worstRow.locks} lock(s), ${worstRow.clients} client(s))` : ""}`,
      "≥ 100 % of direct",
      verdict(meeting === pairRows.length, `${((WAITING_TARGETS.throughputRatio - worst) * 100).toFixed(0)} points in the worst configuration`),
    ]);
    const collapse = collapseOf(r.waitingThroughput, pair);
    if (collapse) {
      rows.push([
        `no collapse on one lock with waiting clients (${pair} transport)`,
        `${collapse.many.clients} clients ${collapse.many.waiting.perSecond.toFixed(1)} cycles/s = ${pct(collapse.share)} of ${collapse.few.clients} clients' ${collapse.few.waiting.perSecond.toFixed(1)}`,
        `≥ ${pct(WAITING_TARGETS.noCollapseShare)} of the ${collapse.few.clients}-client rate`,
        verdict(collapse.share >= WAITING_TARGETS.noCollapseShare, `${((WAITING_TARGETS.noCollapseShare - (Number.isNaN(collapse.share) ? 0 : collapse.share)) * 100).toFixed(0)} points`),
      ]);
    }
    const starving = pairRows.map((t) => starved(t));
    const judged = starving.filter((x) => x !== undefined);
    if (judged.length) {
      const total = judged.reduce((a, b) => a + b, 0);
      rows.push([
        `no starvation with waiting clients (${pair} transport)`,
        `${total} client(s) without a cycle, over ${judged.length}/${pairRows.length} configurations long enough to judge`,
        "every client served",
        verdict(total === 0, `${total} starved client(s)`),
      ]);
    }
  }
  for (const w of r.waitingRequests) {
    rows.push([
      `apiserver requests/s, ${w.waiters} waiters on one held lock, ${w.id}, waitSeconds ${w.waitSeconds}`,
      `${perSecond(w.steady).toFixed(2)}/s steady${w.settled ? "" : " (line not settled)"}; ${perSecond(w.drain).toFixed(1)}/s while handing over, ${(w.drain.counts.total / Math.max(1, w.handoverMs.length)).toFixed(1)} per hand-over`,
      "– (none set)",
      r.directPolling ? `informational; ${r.directPolling.contenders} direct client-go-style contenders: ${perSecond(r.directPolling.steady).toFixed(2)}/s` : "informational",
    ]);
  }
  return rows;
}

/** Three sections, numbered from `first` (a section without data is left out, its number kept). */
export function renderWaitingSections(r: WaitingResults, first: number): string[] {
  const out: string[] = [];
  const p = r.params;

  if (r.handover.length) {
    out.push(`## ${first}. Waiting in line: hand-over latency`);
    out.push("");
    out.push(
      `Each round a holder acquires the lock, a waiter asks for it with \`waitSeconds: ${p.handoverWaitSeconds}\` and its own Idempotency-Key and is seen in the lock's line ` +
        "(`GET /locks/{name}` shows `waiters: 1`), " + `${p.handoverSettleMs} ms later the holder releases. ` + "The hand-over is the time from the release's answer reaching the holder to the waiter's 200 " +
        "reaching the waiter, both measured in the benchmark process; \"from release sent\" adds the release's own round trip. The waiter is woken by a Kubernetes watch, " +
        "so where holder and waiter are on different gateway replicas (same namespace) the hand-over crosses replicas. " +
        `${p.handoverRounds} recorded rounds per row after ${p.handoverWarmup} warm-up rounds; with fewer than 100 rounds p99 is the largest sample. ` +
        "All gateways talk straight to the apiserver. Times in ms.",
    );
    out.push("");
    out.push(
      table(
        [
          "holder releases via",
          "waiter waits on",
          "rounds",
          "hand-over p50",
          "p99",
          "min",
          "max",
          "mean",
          "from release sent p50",
          "release p50",
          "kube requests of the granted wait (mean)",
          "waits that ended",
          `result (p50 ≤ ${WAITING_TARGETS.handoverP50Ms} ms, p99 ≤ ${WAITING_TARGETS.handoverP99Ms / 1000} s)`,
        ],
        r.handover.map((h) => {
          const s = summarize(h.handoverMs);
          const kube = h.waiterKubeRequests.filter(Number.isFinite);
          return [
            `\`${h.holderGateway}\``,
            `\`${h.waiterGateway}\``,
            s.n,
            ms(s.p50, 1),
            ms(s.p99, 1),
            ms(s.min, 1),
            ms(s.max, 1),
            ms(s.mean, 1),
            ms(summarize(h.fromReleaseSentMs).p50, 1),
            ms(summarize(h.releaseMs).p50, 1),
            kube.length ? (kube.reduce((a, b) => a + b, 0) / kube.length).toFixed(1) : "–",
            h.waitsEnded,
            handoverVerdict(h.handoverMs).text,
          ];
        }),
        ["l", "l", "r", "r", "r", "r", "r", "r", "r", "r", "r", "r", "l"],
      ),
    );
    out.push("");
    out.push(
      "\"kube requests of the granted wait\" is the waiting acquire's own `Server-Timing` count: joining the line (ticket, mark on the lock), the watch, and deciding again after the release (read, grant, ticket deleted).",
    );
    out.push("");
  }

  if (r.waitingThroughput.length) {
    out.push(`## ${first + 1}. Cycle throughput with waiting clients`);
    out.push("");
    out.push(
      "C concurrent clients, each with its own identity and cached JWT, pick one of L locks at random and wait for it in line: " +
        `\`waitSeconds: ${p.waitingWaitSeconds}\` with a fresh Idempotency-Key per cycle, called again at once with the same key after a wait that ended (409 \`lock_held\`, Retry-After 0), ` +
        "after Retry-After on `lock_contended` or 503; granted, a client releases at once and starts its next cycle. Nobody polls or backs off. " +
        `${p.waitingMs / 1000} s measured per configuration after a warm-up that fills the lines: at least ${p.waitingWarmupMs / 1000} s, and until every client has completed a cycle ` +
        `(clients that all start at once race to join the lines; at most ${p.waitingWarmupLimitMs / 1000} s, marked \"limit\"; what such a start costs is in section ${first + 2}). Only cycles completed inside the window count. ` +
        "When the window closes, waiting requests are cut off, a grant that landed unseen is collected with the same key and released, and every other place is given up (`POST /locks/{name}/leave`). " +
        "The direct loop and the polling gateway are the rows of section 3 for the same configuration in this run (the direct loop backs off 2–200 ms between tries); " +
        "where section 3 did not run, the direct loop was measured beside the waiting run with the same code. " +
        "The gateways are the two Node gateways of sections 2 and 3 (`gw-node-kc`, `gw-node-server`), straight to the apiserver. " +
        "\"acquires/cycle\" counts the acquire requests of a completed cycle (1 when its first wait ends in the grant); \"kube requests/cycle\" are the gateway's `Server-Timing` counts " +
        "for the cycle's acquires and release; \"CPU ms/cycle\" is the CPU time of the benchmark process (HTTP clients) plus the gateway process over the whole run, warm-up included, per completed cycle. " +
        "\"cycles per client\" is the fewest and the most cycles one client completed in the window: with a fair line every client gets a turn in each round of C grants on a lock. " +
        "\"wait for the grant\" runs from a cycle's first acquire to its grant, over the cycles that began and ended in the window; in a fair line a client waits about one round, C ÷ (cycles/s), for its turn, " +
        "and a starved client would wait far longer.",
    );
    out.push("");
    for (const pair of [...new Set(r.waitingThroughput.map((t) => t.pair))]) {
      out.push(`### ${pair} transport`);
      out.push("");
      const rows = r.waitingThroughput.filter((t) => t.pair === pair);
      out.push(
        table(
          [
            "locks",
            "clients",
            "warm-up (s)",
            "direct loop cycles/s",
            "gateway polling cycles/s",
            "gateway waiting cycles/s",
            "waiting / direct",
            "waiting / polling",
            "errors",
            "result (≥ direct)",
          ],
          rows.map((t) => {
            const q = waitingRatio(t);
            return [
              t.locks,
              t.clients,
              `${t.waiting.warmupSeconds.toFixed(1)}${t.waiting.settled ? "" : " (limit)"}`,
              t.direct ? `${t.direct.perSecond.toFixed(1)}${t.directFrom === "measured here" ? " (measured here)" : ""}` : "–",
              t.polling ? t.polling.perSecond.toFixed(1) : "–",
              t.waiting.perSecond.toFixed(1),
              q === Number.POSITIVE_INFINITY ? "∞ (direct: no cycle)" : pct(q),
              t.polling && t.polling.perSecond > 0 ? pct(t.waiting.perSecond / t.polling.perSecond) : "–",
              t.waiting.errors,
              Number.isNaN(q) ? (t.direct ? "MISS (no cycle completed on either side)" : "– (no direct run)") : verdict(q >= WAITING_TARGETS.throughputRatio, `${((WAITING_TARGETS.throughputRatio - q) * 100).toFixed(0)} points`),
            ];
          }),
        ),
      );
      out.push("");
      out.push(
        table(
          [
            "locks",
            "clients",
            "acquires/cycle",
            "kube requests/cycle",
            "CPU ms/cycle (client + gateway)",
            "cycles per client min–max",
            "wait for the grant p50 / max (s)",
            "fair line: ≈ C ÷ cycles/s (s)",
          ],
          rows.map((t) => {
            const per = t.waiting.perClient;
            const cycles = t.waiting.totalCycles;
            const wait = summarize(t.waiting.waitMs);
            return [
              t.locks,
              t.clients,
              t.waiting.acquireCallsPerCycle.toFixed(2),
              t.waiting.kubeRequestsPerCycle.toFixed(1),
              cycles ? `${ms((t.cpu.clientMs + t.cpu.gatewayProcessMs) / cycles, 1)} (${ms(t.cpu.clientMs / cycles, 1)} + ${ms(t.cpu.gatewayProcessMs / cycles, 1)})` : "–",
              per.length ? `${Math.min(...per)}–${Math.max(...per)}` : "–",
              wait.n ? `${(wait.p50 / 1000).toFixed(2)} / ${(wait.max / 1000).toFixed(2)}` : "–",
              t.waiting.perSecond > 0 ? (t.clients / t.waiting.perSecond).toFixed(2) : "–",
            ];
          }),
        ),
      );
      out.push("");
      const collapse = collapseOf(r.waitingThroughput, pair);
      if (collapse) {
        out.push(
          `On one lock, ${collapse.many.clients} waiting clients completed ${collapse.many.waiting.perSecond.toFixed(1)} cycles/s, ${pct(collapse.share)} of the ${collapse.few.waiting.perSecond.toFixed(1)} ` +
            `with ${collapse.few.clients} (no collapse: ≥ ${pct(WAITING_TARGETS.noCollapseShare)}): ${verdict(collapse.share >= WAITING_TARGETS.noCollapseShare, `${((WAITING_TARGETS.noCollapseShare - (Number.isNaN(collapse.share) ? 0 : collapse.share)) * 100).toFixed(0)} points`)}.` +
            (collapse.many.polling ? ` Polling clients on the same gateway: ${collapse.many.polling.perSecond.toFixed(1)} cycles/s with ${collapse.many.clients}.` : ""),
        );
        out.push("");
      }
      const notes = r.waitingThroughput.filter((t) => t.pair === pair && (t.waiting.firstError || t.waiting.retried > 0 || t.waiting.waitsEnded > 0 || starved(t)));
      for (const t of notes) {
        const parts = [
          t.waiting.waitsEnded ? `${t.waiting.waitsEnded} wait(s) ended without a grant and were called again` : "",
          t.waiting.retried ? `${t.waiting.retried} answer(s) \`lock_contended\` or 503, retried after Retry-After` : "",
          starved(t) ? `${starved(t)} client(s) completed no cycle` : "",
          t.waiting.firstError ? `first error: ${t.waiting.firstError}` : "",
        ].filter(Boolean);
        out.push(`- ${t.locks} lock(s), ${t.clients} client(s): ${parts.join("; ")}`);
      }
      if (notes.length) out.push("");
    }
  }

  if (r.waitingRequests.length || r.directPolling) {
    out.push(`## ${first + 2}. apiserver requests while clients wait`);
    out.push("");
    out.push(
      "Counted at a streaming pass-through proxy in front of the apiserver (`bench/lib/counting-proxy.ts`) that only the gateway under test uses; unlike the proxy of section 1, " +
        "it passes watch events on as they arrive, so waiters behind it are woken as they would be without it. A holder takes one lock; then W waiters (own identities, " +
        "JWTs and Idempotency-Keys) all at once ask to wait for it. Joining lasts until all show in its line, then at least 10 s more (a waiting request that found nothing changed " +
        "pauses up to 5 s before it watches again), and until for 2 s nobody has written the lock (each joining request marks it, racing the others) and nobody has been refused " +
        "for contention (`lock_contended`, retried after Retry-After); its requests are counted less the benchmark's own state polls. " +
        `For the steady window (${p.steadyMs / 1000} s) nothing happens but waiting. Then the holder releases and each waiter, granted in turn, releases at once (draining): ` +
        "W hand-overs, each timed from the previous release's answer to the next grant. \"open watches\" are watches open through the proxy during the steady window (sampled every 250 ms). " +
        "Requests are named by what they touch: `lock` is the lock's Lease, `ticket` a waiter's queue ticket (a Lease of its own), `list tickets` the listing of the lock's line; " +
        "`event` is an `events.k8s.io` Event of the gateway's lock history, written after an answer and counted in no answer's `Server-Timing`. " +
        "\"refusals\" are the answers other than 200 that waiting requests got in that stage. " +
        "The direct reference is W client-go-style contenders polling the held Lease through a proxy of the same kind, the way client-go's leader election retries: " +
        "a GET every RetryPeriod (2 s) plus up to 1.2 × RetryPeriod of jitter.",
    );
    out.push("");
    if (r.waitingRequests.length) {
      out.push("Joining and steady waiting:");
      out.push("");
      out.push(
        table(
          [
            "gateway",
            "waitSeconds",
            "waiters",
            "joining: requests (per waiter)",
            "joining: all in line / settled after (s)",
            "joining: refusals",
            "steady: requests/s",
            "steady: by request (/s)",
            "steady: open watches",
            "steady: refusals",
          ],
          r.waitingRequests.map((w) => [
            w.id,
            w.waitSeconds,
            w.waiters,
            `${w.join.counts.total} (${(w.join.counts.total / w.waiters).toFixed(1)})`,
            `${w.inLineSeconds.toFixed(1)} / ${w.settled ? w.join.seconds.toFixed(1) : `not settled within ${w.join.seconds.toFixed(0)}`}`,
            codes(w.refusalsInJoin),
            perSecond(w.steady).toFixed(2),
            byTargetPerSecond(w.steady),
            `${w.openWatches.min}–${w.openWatches.max}`,
            codes(w.refusalsInSteady),
          ]),
          ["l", "r", "r", "r", "r", "l", "r", "l", "r", "l"],
        ),
      );
      out.push("");
      out.push("Draining, one hand-over after another:");
      out.push("");
      out.push(
        table(
          ["gateway", "waitSeconds", "hand-overs", "time (s)", "requests/s", "requests (by request)", "requests per hand-over", "hand-over p50 / p99 / max (ms)", "refusals", "Server-Timing sum = Lease requests at the proxy (whole row)"],
          r.waitingRequests.map((w) => {
            const h = summarize(w.handoverMs);
            return [
              w.id,
              w.waitSeconds,
              w.handoverMs.length,
              w.drain.seconds.toFixed(1),
              perSecond(w.drain).toFixed(1),
              `${w.drain.counts.total} (${byTargetCount(w.drain)})`,
              (w.drain.counts.total / Math.max(1, w.handoverMs.length)).toFixed(1),
              `${ms(h.p50, 0)} / ${ms(h.p99, 0)} / ${ms(h.max, 0)}`,
              codes(w.refusalsInDrain),
              w.serverTimingTotal === w.proxyLeases ? `yes (${w.proxyLeases})` : `no: ${w.serverTimingTotal} vs ${w.proxyLeases}`,
            ];
          }),
          ["l", "r", "r", "r", "r", "l", "r", "r", "l", "l"],
        ),
      );
      out.push("");
    }
    if (r.directPolling) {
      const d = r.directPolling;
      out.push(
        table(
          ["direct reference", "contenders", "retry period", "steady: requests/s", "steady: by request (/s)"],
          [[d.id, d.contenders, `${d.retryPeriodMs / 1000} s + up to 1.2× jitter`, perSecond(d.steady).toFixed(2), byTargetPerSecond(d.steady)]],
          ["l", "r", "l", "r", "l"],
        ),
      );
      out.push("");
    }
  }
  return out;
}
