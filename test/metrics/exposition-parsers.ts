import { execFile, spawn } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { ensureDebianPackage } from "../support/debian-package.ts";

/**
 * Two parsers of the Prometheus text format that share no code with the gateway: Prometheus'
 * own `promtool check metrics` (Debian's prometheus package) and the official Python client's
 * parser. What they read is what a Prometheus server would scrape.
 */
const exec = promisify(execFile);
const root = new URL("../..", import.meta.url).pathname;
const PROMTOOL = "/usr/bin/promtool";
const PROMETHEUS_CLIENT = "prometheus-client==0.26.0";
const venv = join(root, "node_modules/.cache/leasegate-prometheus-client-0.26.0");

/** Installs Debian's `prometheus` package (for promtool) when it is missing. */
export function ensurePromtool(): Promise<void> {
  return ensureDebianPackage(PROMTOOL, "prometheus");
}

/** `promtool check metrics` on the exposition: exit code and whatever it complained about. */
export async function promtoolCheck(text: string): Promise<{ code: number; output: string }> {
  await ensurePromtool();
  return new Promise((resolve, reject) => {
    const child = spawn(PROMTOOL, ["check", "metrics"], { stdio: ["pipe", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => resolve({ code: code ?? -1, output }));
    child.stdin.end(text);
  });
}

let pythonReady: Promise<string> | undefined;

/** A virtualenv with the pinned prometheus-client, made once under node_modules/.cache. */
function pythonWithPrometheusClient(): Promise<string> {
  pythonReady ??= (async () => {
    const python = join(venv, "bin", "python");
    if (existsSync(join(venv, ".complete"))) return python;
    mkdirSync(join(root, "node_modules/.cache"), { recursive: true });
    const build = `test -f ${venv}/.complete || { rm -rf ${venv} && python3 -m venv ${venv} && ${python} -m pip install --no-input --quiet --no-cache-dir --only-binary :all: ${PROMETHEUS_CLIENT} && touch ${venv}/.complete; }`;
    await exec("flock", [join(tmpdir(), "leasegate-prometheus-client.lock"), "sh", "-c", build], {
      env: { ...process.env, PIP_DISABLE_PIP_VERSION_CHECK: "1" },
      maxBuffer: 16 * 1024 * 1024,
    });
    return python;
  })();
  return pythonReady;
}

export interface ParsedSample {
  /** The family, as the Python client names it (a counter's without `_total`). */
  family: string;
  type: string;
  name: string;
  labels: Record<string, string>;
  value: number;
}

const PARSE = `
import json, math, sys
from prometheus_client.parser import text_string_to_metric_families
samples = []
for family in text_string_to_metric_families(sys.stdin.read()):
    for s in family.samples:
        value = s.value if math.isfinite(s.value) else repr(s.value)
        samples.append({"family": family.name, "type": family.type, "name": s.name, "labels": s.labels, "value": value})
print(json.dumps(samples))
`;

/** Every sample, as prometheus_client.parser.text_string_to_metric_families reads the exposition. */
export async function parseWithPrometheusClient(text: string): Promise<ParsedSample[]> {
  const python = await pythonWithPrometheusClient();
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(python, ["-c", PARSE], { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    child.once("error", reject);
    child.once("close", (code) => (code === 0 ? resolve(stdout) : reject(new Error(`prometheus_client could not parse the exposition:\n${stderr}`))));
    child.stdin.end(text);
  });
  return (JSON.parse(output) as Array<Omit<ParsedSample, "value"> & { value: number | string }>).map((sample) => ({
    ...sample,
    value: typeof sample.value === "number" ? sample.value : sample.value === "inf" ? Infinity : sample.value === "-inf" ? -Infinity : NaN,
  }));
}

/** The value of the one sample with this name and these labels (others may exist), or 0 when there is none. */
export function valueOf(samples: ParsedSample[], name: string, labels: Record<string, string> = {}): number {
  const found = samples.filter((sample) => sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value));
  if (found.length > 1) throw new Error(`${found.length} samples ${name} match ${JSON.stringify(labels)}`);
  return found[0]?.value ?? 0;
}
