/**
 * A small Prometheus registry for both runtimes. Every metric has a fixed list of at most three
 * label names, and finding a series walks a tree of Maps keyed by the label values, so counting
 * on the request path allocates nothing once a series exists. Each metric holds at most
 * `maxSeries` series; later label combinations are counted under `other` in every label, so no
 * caller-chosen value can grow memory or a Prometheus server's index without bound.
 */
export type LabelValue = string | number;

const DEFAULT_MAX_SERIES = 200;
const OVERFLOW = "other";

interface Series<C> {
  values: LabelValue[];
  child: C;
}

abstract class Metric<C> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  readonly #maxSeries: number;
  readonly #tree = new Map<LabelValue, unknown>();
  protected readonly series: Series<C>[] = [];
  #unlabelled?: C;

  constructor(options: MetricOptions) {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(options.name)) throw new Error(`bad metric name ${options.name}`);
    const labelNames = options.labelNames ?? [];
    if (labelNames.length > 3) throw new Error(`${options.name}: at most three labels`);
    this.name = options.name;
    this.help = options.help;
    this.labelNames = labelNames;
    this.#maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
  }

  protected abstract newChild(): C;
  abstract readonly type: "counter" | "gauge" | "histogram";
  /** The sample lines of one series, without the trailing newline. */
  protected abstract samples(labels: string, child: C): string;

  /** The series for these label values (in the order of `labelNames`), made on first use. */
  labels(a?: LabelValue, b?: LabelValue, c?: LabelValue): C {
    const depth = this.labelNames.length;
    if (depth === 0) return (this.#unlabelled ??= this.#add([]));
    let found = this.#tree.get(a!);
    if (depth >= 2 && found !== undefined) found = (found as Map<LabelValue, unknown>).get(b!);
    if (depth === 3 && found !== undefined) found = (found as Map<LabelValue, unknown>).get(c!);
    return (found as C | undefined) ?? this.#create([a, b, c].slice(0, depth) as LabelValue[]);
  }

  #create(values: LabelValue[]): C {
    for (const value of values) if (value === undefined) throw new Error(`${this.name}: every label needs a value`);
    const capped = this.series.length >= this.#maxSeries ? values.map(() => OVERFLOW) : values;
    let node = this.#tree;
    for (let level = 0; level < capped.length - 1; level++) {
      let next = node.get(capped[level]!) as Map<LabelValue, unknown> | undefined;
      if (next === undefined) node.set(capped[level]!, (next = new Map()));
      node = next;
    }
    const last = capped[capped.length - 1]!;
    const existing = node.get(last) as C | undefined;
    if (existing !== undefined) return existing;
    const child = this.#add(capped);
    node.set(last, child);
    return child;
  }

  #add(values: LabelValue[]): C {
    const child = this.newChild();
    this.series.push({ values, child });
    return child;
  }

  /** The metric in the text exposition format 0.0.4. */
  expose(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    if (this.labelNames.length === 0) this.labels();
    for (const { values, child } of this.series) {
      const labels = values.map((value, i) => `${this.labelNames[i]}="${escapeLabelValue(String(value))}"`).join(",");
      lines.push(this.samples(labels, child));
    }
    return `${lines.join("\n")}\n`;
  }
}

export interface MetricOptions {
  name: string;
  help: string;
  labelNames?: readonly string[];
  maxSeries?: number;
}

export class CounterChild {
  value = 0;
  inc(by = 1): void {
    if (by > 0) this.value += by;
  }
}

export class Counter extends Metric<CounterChild> {
  readonly type = "counter";
  protected newChild() {
    return new CounterChild();
  }
  protected samples(labels: string, child: CounterChild) {
    return `${this.name}${braces(labels)} ${formatNumber(child.value)}`;
  }
}

export class GaugeChild {
  value = 0;
  set(value: number): void {
    this.value = value;
  }
  inc(by = 1): void {
    this.value += by;
  }
  dec(by = 1): void {
    this.value -= by;
  }
}

export class Gauge extends Metric<GaugeChild> {
  readonly type: "gauge" | "counter";
  /** `counter` for a total that is read, not counted, here (a process's CPU seconds). */
  constructor(options: MetricOptions & { type?: "gauge" | "counter" }) {
    super(options);
    this.type = options.type ?? "gauge";
  }
  protected newChild() {
    return new GaugeChild();
  }
  protected samples(labels: string, child: GaugeChild) {
    return `${this.name}${braces(labels)} ${formatNumber(child.value)}`;
  }
}

export class HistogramChild {
  readonly #bounds: readonly number[];
  readonly counts: Float64Array;
  sum = 0;
  count = 0;
  constructor(bounds: readonly number[]) {
    this.#bounds = bounds;
    this.counts = new Float64Array(bounds.length);
  }
  observe(value: number): void {
    if (!Number.isFinite(value)) return;
    const bounds = this.#bounds;
    for (let i = 0; i < bounds.length; i++) {
      if (value <= bounds[i]!) {
        this.counts[i]!++;
        break;
      }
    }
    this.sum += value;
    this.count++;
  }
}

export class Histogram extends Metric<HistogramChild> {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  constructor(options: MetricOptions & { buckets: readonly number[] }) {
    super(options);
    if (options.labelNames?.includes("le")) throw new Error(`${options.name}: "le" is the bucket label`);
    this.buckets = [...options.buckets].sort((a, b) => a - b);
  }
  protected newChild() {
    return new HistogramChild(this.buckets);
  }
  protected samples(labels: string, child: HistogramChild) {
    const lines: string[] = [];
    const prefix = labels ? `${labels},` : "";
    let cumulative = 0;
    this.buckets.forEach((bound, i) => {
      cumulative += child.counts[i]!;
      lines.push(`${this.name}_bucket{${prefix}le="${formatNumber(bound)}"} ${formatNumber(cumulative)}`);
    });
    lines.push(`${this.name}_bucket{${prefix}le="+Inf"} ${formatNumber(child.count)}`);
    lines.push(`${this.name}_sum${braces(labels)} ${formatNumber(child.sum)}`);
    lines.push(`${this.name}_count${braces(labels)} ${formatNumber(child.count)}`);
    return lines.join("\n");
  }
}

type AnyMetric = Counter | Gauge | Histogram;

/** The metrics of one process, exposed together; collectors refresh values read at scrape time. */
export class Registry {
  readonly #metrics: AnyMetric[] = [];
  readonly #collectors: Array<() => void | Promise<void>> = [];

  register<M extends AnyMetric>(metric: M): M {
    if (this.#metrics.some((m) => m.name === metric.name)) throw new Error(`metric ${metric.name} is registered twice`);
    this.#metrics.push(metric);
    return metric;
  }

  counter(options: MetricOptions): Counter {
    return this.register(new Counter(options));
  }
  gauge(options: MetricOptions & { type?: "gauge" | "counter" }): Gauge {
    return this.register(new Gauge(options));
  }
  histogram(options: MetricOptions & { buckets: readonly number[] }): Histogram {
    return this.register(new Histogram(options));
  }

  /** Runs before every exposition; a collector that fails leaves its metrics as they were. */
  onCollect(collector: () => void | Promise<void>): void {
    this.#collectors.push(collector);
  }

  async expose(): Promise<string> {
    await Promise.all(this.#collectors.map(async (collect) => {
      try {
        await collect();
      } catch {
        // The collector reports its own failure (an `up` gauge); the rest is still worth exposing.
      }
    }));
    return this.#metrics.map((metric) => metric.expose()).join("");
  }
}

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

function braces(labels: string): string {
  return labels ? `{${labels}}` : "";
}

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function escapeHelp(help: string): string {
  return help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
}
