/**
 * Phase 2: latency of acquire, renew and release, one caller, one operation at a time. Every
 * target runs one acquire→renew→release cycle per round, in an order rotated every round, so
 * that background load drifts over all targets alike. Acquire always finds an existing, free
 * Lease (the steady state: GET then PUT), after warm-up rounds that are not recorded.
 */
import { ClientGoLocker, type SameCallsLocker } from "../lib/direct.ts";
import { expectStatus, type GatewayClient } from "../lib/gateway-client.ts";

export type LatencyOp = "acquire" | "renew" | "release";
export const LATENCY_OPS: LatencyOp[] = ["acquire", "renew", "release"];

export interface LatencyTarget {
  id: string;
  /** One acquire→renew→release cycle; returns the three durations in ms. */
  cycle(): Promise<[number, number, number]>;
}

export type LatencySamples = Record<string, Record<LatencyOp, number[]>>;

async function timed<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const start = performance.now();
  const value = await fn();
  return [performance.now() - start, value];
}

export function gatewayTarget(id: string, client: GatewayClient, lock: string): LatencyTarget {
  return {
    id,
    async cycle() {
      const [a, acquired] = await timed(() => client.acquire(lock, 30));
      const token = expectStatus(acquired, 200, `${id} acquire`).body.token as string;
      const [r, renewed] = await timed(() => client.renew(lock, token));
      expectStatus(renewed, 200, `${id} renew`);
      const [l, released] = await timed(() => client.release(lock, token));
      if (expectStatus(released, 200, `${id} release`).body.released !== true) throw new Error(`${id}: release did not release`);
      return [a, r, l];
    },
  };
}

export function clientGoTarget(id: string, locker: ClientGoLocker, lock: string): LatencyTarget {
  const ok = (what: string, outcome: string) => {
    if (outcome !== "ok") throw new Error(`${id} ${what}: ${outcome}`);
  };
  return {
    id,
    async cycle() {
      const [a, acquired] = await timed(() => locker.acquire(lock, 30));
      ok("acquire", acquired);
      const [r, renewed] = await timed(() => locker.renew(lock));
      ok("renew", renewed);
      const [l, released] = await timed(() => locker.release(lock));
      ok("release", released);
      return [a, r, l];
    },
  };
}

export function sameCallsTarget(id: string, locker: SameCallsLocker, lock: string): LatencyTarget {
  return {
    id,
    async cycle() {
      const [a, grant] = await timed(() => locker.acquire(lock, 30));
      if (typeof grant === "string") throw new Error(`${id} acquire: ${grant}`);
      const [r] = await timed(() => locker.renew(lock, grant));
      const [l] = await timed(() => locker.release(lock, grant));
      return [a, r, l];
    },
  };
}

/** A single request timed once per round alongside the targets, e.g. the bare HTTP hop to a gateway. */
export interface LatencyProbe {
  id: string;
  run(): Promise<void>;
}

export function hopProbe(id: string, url: string): LatencyProbe {
  return {
    id,
    async run() {
      const res = await fetch(`${url}/healthz`);
      await res.text();
      if (res.status !== 200) throw new Error(`${id}: /healthz answered ${res.status}`);
    },
  };
}

export async function measureLatency(
  targets: LatencyTarget[],
  probes: LatencyProbe[],
  rounds: number,
  warmup: number,
  progress: (msg: string) => void,
  /** Called once, when the first recorded round starts. */
  onRecordingStart?: () => void,
): Promise<{ samples: LatencySamples; probes: Record<string, number[]> }> {
  const samples: LatencySamples = Object.fromEntries(targets.map((t) => [t.id, { acquire: [], renew: [], release: [] }]));
  const probeSamples: Record<string, number[]> = Object.fromEntries(probes.map((p) => [p.id, []]));
  for (let round = -warmup; round < rounds; round++) {
    if (round === 0) onRecordingStart?.();
    const offset = ((round % targets.length) + targets.length) % targets.length;
    for (let k = 0; k < targets.length; k++) {
      const target = targets[(k + offset) % targets.length]!;
      const [a, r, l] = await target.cycle();
      if (round >= 0) {
        const s = samples[target.id]!;
        s.acquire.push(a);
        s.renew.push(r);
        s.release.push(l);
      }
    }
    for (const probe of probes) {
      const [t] = await timed(() => probe.run());
      if (round >= 0) probeSamples[probe.id]!.push(t);
    }
    if (round > 0 && round % Math.max(1, Math.floor(rounds / 5)) === 0) progress(`latency: ${round}/${rounds} rounds`);
  }
  return { samples, probes: probeSamples };
}
