/**
 * Phase 9, second part: the Node gateway process's CPU per lock operation with lock history and
 * the access log each on and off. Every setting runs in its own fresh gateway (`kubernetes.server`);
 * one caller runs sequential acquire → renew → release cycles against them in turn, a block of
 * cycles each in an order rotated every round, so background load falls on all of them alike.
 * A gateway uses no CPU while the others are called, except to finish its own lock history
 * writes, which belong to it; its process's CPU time over the whole recorded run is its cost.
 */
import type { GatewayClient } from "../lib/gateway-client.ts";
import { procCpuMs } from "../lib/proc.ts";
import { sleep, summarize } from "../lib/stats.ts";
import { gatewayTarget } from "./latency.ts";

export interface GatewayVariant {
  id: string;
  /** The settings the variant adds to the default configuration. */
  config: Record<string, unknown>;
}

export const GATEWAY_VARIANTS: GatewayVariant[] = [
  { id: "default (access log on, history on)", config: {} },
  { id: "history off", config: { history: { enabled: false } } },
  { id: "access log off", config: { accessLog: false } },
  { id: "both off", config: { history: { enabled: false }, accessLog: false } },
  // The same settings as the first: how far two identical gateways differ is this measurement's noise.
  { id: "default again (noise check)", config: {} },
];

export interface VariantGateway {
  variant: GatewayVariant;
  client: GatewayClient;
  pid: number | undefined;
  /** The lock history in the gateway's namespace so far. */
  history(): Promise<HistoryCount>;
}

export interface HistoryCount {
  /** Event objects. */
  events: number;
  /** Lock events they record: an Event's series counts its repeats. */
  occurrences: number;
}

export interface VariantCpu {
  id: string;
  config: Record<string, unknown>;
  operations: number;
  cpuMsPerOperation: number;
  /** Wall time of one operation as the caller saw it, p50, ms. */
  wallP50Ms: number;
  /** Cycles per second while this gateway's own cycles ran: twice this is the lock events it was offered per second. */
  cyclesPerSecond: number;
  /** History it wrote during the recorded cycles (and the settle after them). */
  history: HistoryCount;
}

export interface VariantOptions {
  cycles: number;
  warmup: number;
  /** Cycles per gateway per turn. */
  block: number;
  /** Waited after the last cycle before CPU is read: history is written after the answer. */
  settleMs: number;
}

export async function measureGatewayVariants(gateways: VariantGateway[], options: VariantOptions): Promise<VariantCpu[]> {
  const cycles = gateways.map((g, i) => gatewayTarget(g.variant.id, g.client, `variant-${i}`).cycle);
  const walls = gateways.map(() => [] as number[]);
  const cycleMs = gateways.map(() => 0);
  const rounds = async (total: number, record: boolean) => {
    for (let round = 0, done = 0; done < total; round++, done += options.block) {
      const n = Math.min(options.block, total - done);
      for (let k = 0; k < gateways.length; k++) {
        const i = (k + round) % gateways.length;
        const started = performance.now();
        for (let c = 0; c < n; c++) {
          const ops = await cycles[i]!();
          if (record) walls[i]!.push(...ops);
        }
        if (record) cycleMs[i]! += performance.now() - started;
      }
    }
  };
  await rounds(options.warmup, false);
  await sleep(options.settleMs);
  const historyBefore = await Promise.all(gateways.map((g) => g.history()));
  const cpuBefore = gateways.map((g) => (g.pid ? procCpuMs(g.pid) : Number.NaN));
  await rounds(options.cycles, true);
  await sleep(options.settleMs);
  const cpuAfter = gateways.map((g) => (g.pid ? procCpuMs(g.pid) : Number.NaN));
  const historyAfter = await Promise.all(gateways.map((g) => g.history()));
  const operations = 3 * options.cycles;
  return gateways.map((g, i) => ({
    id: g.variant.id,
    config: g.variant.config,
    operations,
    cpuMsPerOperation: (cpuAfter[i]! - cpuBefore[i]!) / operations,
    wallP50Ms: summarize(walls[i]!).p50,
    cyclesPerSecond: options.cycles / (cycleMs[i]! / 1000),
    history: {
      events: historyAfter[i]!.events - historyBefore[i]!.events,
      occurrences: historyAfter[i]!.occurrences - historyBefore[i]!.occurrences,
    },
  }));
}
