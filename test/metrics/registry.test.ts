import { describe, expect, it } from "vitest";
import { Registry } from "../../src/metrics/registry.ts";

describe("the metrics registry", () => {
  it("writes the text exposition format: help, type, labels in order, cumulative buckets", async () => {
    const registry = new Registry();
    registry.counter({ name: "jobs_total", help: "Jobs done.", labelNames: ["kind", "status"] }).labels("build", 200).inc(2);
    registry.gauge({ name: "queue_length", help: "Waiting." }).labels().set(3);
    const seconds = registry.histogram({ name: "job_seconds", help: "How long.", labelNames: ["kind"], buckets: [1, 0.5] });
    seconds.labels("build").observe(0.2);
    seconds.labels("build").observe(0.7);
    seconds.labels("build").observe(9);
    expect(await registry.expose()).toBe(
      [
        "# HELP jobs_total Jobs done.",
        "# TYPE jobs_total counter",
        'jobs_total{kind="build",status="200"} 2',
        "# HELP queue_length Waiting.",
        "# TYPE queue_length gauge",
        "queue_length 3",
        "# HELP job_seconds How long.",
        "# TYPE job_seconds histogram",
        'job_seconds_bucket{kind="build",le="0.5"} 1',
        'job_seconds_bucket{kind="build",le="1"} 2',
        'job_seconds_bucket{kind="build",le="+Inf"} 3',
        'job_seconds_sum{kind="build"} 9.9',
        'job_seconds_count{kind="build"} 3',
        "",
      ].join("\n"),
    );
  });

  it("escapes label values and help text, so no value can end a line or a label", async () => {
    const registry = new Registry();
    registry.counter({ name: "odd_total", help: "A back\\slash\nand a new line.", labelNames: ["value"] }).labels('say "hi"\\\nbye').inc();
    expect(await registry.expose()).toContain('odd_total{value="say \\"hi\\"\\\\\\nbye"} 1');
    expect(await registry.expose()).toContain("# HELP odd_total A back\\\\slash\\nand a new line.");
  });

  it("finds the same series for the same values, and counts past its cap under `other`", async () => {
    const registry = new Registry();
    const counter = registry.counter({ name: "capped_total", help: "Capped.", labelNames: ["reason"], maxSeries: 2 });
    expect(counter.labels("a")).toBe(counter.labels("a"));
    counter.labels("b").inc();
    counter.labels("c").inc();
    counter.labels("d").inc();
    const text = await registry.expose();
    expect(text).toContain('capped_total{reason="other"} 2');
    expect(text).not.toContain('reason="c"');
  });

  it("refreshes values read at scrape time, and still exposes the rest when a collector fails", async () => {
    const registry = new Registry();
    const gauge = registry.gauge({ name: "read_at_scrape", help: "Read." });
    let reads = 0;
    registry.onCollect(() => gauge.labels().set(++reads));
    registry.onCollect(() => Promise.reject(new Error("cannot read")));
    expect(await registry.expose()).toContain("read_at_scrape 1");
    expect(await registry.expose()).toContain("read_at_scrape 2");
  });

  it("refuses a metric registered twice, a bad name and a histogram labelled le", () => {
    const registry = new Registry();
    registry.counter({ name: "once_total", help: "." });
    expect(() => registry.counter({ name: "once_total", help: "." })).toThrow(/twice/);
    expect(() => registry.counter({ name: "bad-name", help: "." })).toThrow(/bad metric name/);
    expect(() => registry.histogram({ name: "h", help: ".", labelNames: ["le"], buckets: [1] })).toThrow(/le/);
  });
});
