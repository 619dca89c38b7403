import type { Registry } from "./registry.ts";

/** The usual process metrics of a Node exporter, read at scrape time (nothing runs in between). */
export function registerNodeProcessMetrics(registry: Registry): void {
  const cpu = registry.gauge({ name: "process_cpu_seconds_total", help: "User and system CPU time spent, in seconds.", type: "counter" });
  const resident = registry.gauge({ name: "process_resident_memory_bytes", help: "Resident memory size in bytes." });
  const heap = registry.gauge({ name: "nodejs_heap_used_bytes", help: "V8 heap in use, in bytes." });
  const started = registry.gauge({ name: "process_start_time_seconds", help: "When the process started, in seconds since the Unix epoch." });
  started.labels().set(Math.round(performance.timeOrigin) / 1000);
  registry.onCollect(() => {
    const usage = process.cpuUsage();
    cpu.labels().set((usage.user + usage.system) / 1e6);
    const memory = process.memoryUsage();
    resident.labels().set(memory.rss);
    heap.labels().set(memory.heapUsed);
  });
}
