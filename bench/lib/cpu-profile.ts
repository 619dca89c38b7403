/**
 * Sums a V8 CPU profile (the `.cpuprofile` JSON `node --cpu-prof` writes) by function and by area
 * of the code, over the samples taken in a time window. Shares are of the busy (non-idle)
 * samples: self time belongs to the function running when the sample was taken (or, for native
 * and WebAssembly frames, to the nearest caller with code of its own); inclusive time counts a
 * sample once for every area anywhere on its stack.
 */
import { areaOf, CODE_AREAS, type CodeArea, type Frame, placeOf } from "./code-areas.ts";

export interface CpuProfile {
  nodes: Array<{ id: number; callFrame: Frame; children?: number[] }>;
  /** Microseconds on the machine's monotonic clock (process.hrtime's clock). */
  startTime: number;
  endTime: number;
  /** The node id on top of the stack at each sample. */
  samples: number[];
  /** Microseconds since the previous sample (the first: since startTime). */
  timeDeltas: number[];
}

export interface FunctionShare {
  name: string;
  place: string;
  area: CodeArea;
  /** Share of the busy samples with this function on top. */
  self: number;
}

export interface AreaShare {
  area: CodeArea;
  /** Share of the busy samples whose top frame is this area's. */
  self: number;
  /** Share of the busy samples with this area anywhere on the stack ("other": with no other area on it). */
  inclusive: number;
}

export interface ProfileSummary {
  /** Samples in the window, idle ones included. */
  samples: number;
  busySamples: number;
  /** The time the busy samples stand for (their time deltas summed), ms. */
  busyMs: number;
  /** The window's length, ms. */
  windowMs: number;
  /** Every function with busy samples, most first. */
  functions: FunctionShare[];
  /** Every area, in CODE_AREAS order. */
  areas: AreaShare[];
}

/** The window, in the profile's clock (µs); absent bounds are open. */
export interface Window {
  fromUs?: number;
  toUs?: number;
}

export function summarizeProfile(profile: CpuProfile, window: Window = {}): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const areaBit = (area: CodeArea) => 1 << CODE_AREAS.indexOf(area);
  const otherBit = areaBit("other");
  // Per node: the areas on its stack (a bit each) and the area its self time belongs to.
  const stackAreas = new Map<number, number>();
  const selfArea = new Map<number, CodeArea | undefined>();
  const resolve = (id: number): void => {
    const path: number[] = [];
    for (let at: number | undefined = id; at !== undefined && !stackAreas.has(at); at = parentOf.get(at)) path.push(at);
    for (const nodeId of path.reverse()) {
      const parent = parentOf.get(nodeId);
      const own = areaOf(byId.get(nodeId)!.callFrame);
      stackAreas.set(nodeId, (parent === undefined ? 0 : stackAreas.get(parent)!) | (own === undefined ? 0 : areaBit(own)));
      selfArea.set(nodeId, own ?? (parent === undefined ? undefined : selfArea.get(parent)));
    }
  };

  const functionCounts = new Map<string, FunctionShare & { count: number }>();
  const selfCounts = new Map<CodeArea, number>();
  const inclusiveCounts = new Map<CodeArea, number>();
  let samples = 0;
  let busy = 0;
  let busyUs = 0;
  let at = profile.startTime;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if ((window.fromUs !== undefined && at < window.fromUs) || (window.toUs !== undefined && at > window.toUs)) continue;
    samples++;
    const id = profile.samples[i]!;
    const frame = byId.get(id)?.callFrame;
    if (!frame || frame.functionName === "(idle)") continue;
    busy++;
    busyUs += delta;
    resolve(id);
    const area = selfArea.get(id) ?? "other";
    selfCounts.set(area, (selfCounts.get(area) ?? 0) + 1);
    const onStack = stackAreas.get(id)!;
    for (const candidate of CODE_AREAS) {
      const counted = candidate === "other" ? (onStack & ~otherBit) === 0 : (onStack & areaBit(candidate)) !== 0;
      if (counted) inclusiveCounts.set(candidate, (inclusiveCounts.get(candidate) ?? 0) + 1);
    }
    const name = frame.functionName || "(anonymous)";
    const place = placeOf(frame);
    const key = `${name}\u0000${place}`;
    const entry = functionCounts.get(key) ?? { name, place, area, self: 0, count: 0 };
    entry.count++;
    functionCounts.set(key, entry);
  }

  const share = (count: number | undefined) => (busy > 0 ? (count ?? 0) / busy : Number.NaN);
  const first = window.fromUs ?? profile.startTime;
  const last = window.toUs ?? profile.endTime;
  return {
    samples,
    busySamples: busy,
    busyMs: busyUs / 1000,
    windowMs: (Math.min(last, profile.endTime) - Math.max(first, profile.startTime)) / 1000,
    functions: [...functionCounts.values()]
      .sort((a, b) => b.count - a.count)
      .map(({ count, ...f }) => ({ ...f, self: share(count) })),
    areas: CODE_AREAS.map((area) => ({ area, self: share(selfCounts.get(area)), inclusive: share(inclusiveCounts.get(area)) })),
  };
}
