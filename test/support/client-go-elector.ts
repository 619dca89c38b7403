import { type ChildProcess, execFile, spawn } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";
import { clusterInfo } from "./cluster.ts";

/**
 * A stock client-go leader-election candidate (infra/test-cluster/elector: tools/leaderelection
 * with resourcelock.LeaseLock and ReleaseOnCancel) as a child process against the test cluster,
 * so tests can watch a real Kubernetes controller's view of a Lease next to the gateway's.
 */
export interface ElectorOptions {
  namespace: string;
  /** The Lease the candidate competes for (the lock name). */
  lease: string;
  /** Written as `holderIdentity` while it leads. */
  identity: string;
  leaseDurationSeconds: number;
  renewDeadlineSeconds: number;
  retryPeriodSeconds: number;
}

export type ElectorEventName = "started_leading" | "stopped_leading" | "new_leader";

export interface ElectorEvent {
  event: ElectorEventName;
  /** Its own identity for started/stopped, the observed leader for `new_leader` ("" when none). */
  identity: string;
  /** When client-go called back, on the candidate's clock. */
  at: Date;
}

export interface ClientGoElector {
  readonly identity: string;
  /** Every callback so far, in order. */
  events(): ElectorEvent[];
  /** Whether client-go last said it started (rather than stopped) leading. */
  isLeading(): boolean;
  /** The started_leading event of the current leadership, waiting for the next one if it does not lead. */
  waitForStartedLeading(timeoutMs: number): Promise<ElectorEvent>;
  /** The stopped_leading event that ended the last leadership, waiting for it if it still leads. */
  waitForStoppedLeading(timeoutMs: number): Promise<ElectorEvent>;
  /** What client-go logged (klog on stderr). */
  logs(): string;
  /** SIGTERM: client-go releases the Lease if it leads, then the process exits. Resolves with its exit code. */
  stop(): Promise<number | null>;
}

const execFileAsync = promisify(execFile);
const moduleDir = new URL("../../infra/test-cluster/", import.meta.url).pathname;
const sourceDir = join(moduleDir, "elector");
const binary = join(moduleDir, ".bin", "elector");

let build: Promise<string> | undefined;

/** Builds the elector once per test process, and only when a source is newer than the binary. */
export function buildElector(): Promise<string> {
  build ??= (async () => {
    const sources = [
      ...readdirSync(sourceDir).filter((file) => file.endsWith(".go")).map((file) => join(sourceDir, file)),
      join(moduleDir, "go.mod"),
      join(moduleDir, "go.sum"),
    ];
    const newest = Math.max(...sources.map((file) => statSync(file).mtimeMs));
    if (existsSync(binary) && statSync(binary).mtimeMs >= newest) return binary;
    try {
      await execFileAsync("go", ["build", "-o", binary, "./elector"], { cwd: moduleDir, maxBuffer: 16 * 1024 * 1024 });
    } catch (err) {
      throw new Error(`building infra/test-cluster/elector failed:\n${(err as { stderr?: string }).stderr ?? String(err)}`);
    }
    return binary;
  })();
  return build;
}

export async function startClientGoElector(options: ElectorOptions): Promise<ClientGoElector> {
  const bin = await buildElector();
  const child = spawn(
    bin,
    [
      `--kubeconfig=${clusterInfo().adminKubeconfig}`,
      `--namespace=${options.namespace}`,
      `--lease=${options.lease}`,
      `--identity=${options.identity}`,
      `--lease-duration=${options.leaseDurationSeconds}s`,
      `--renew-deadline=${options.renewDeadlineSeconds}s`,
      `--retry-period=${options.retryPeriodSeconds}s`,
    ],
    // stdin stays open: the elector releases and exits when it closes, so it cannot outlive the tests.
    { stdio: ["pipe", "pipe", "pipe"] },
  );
  const events: ElectorEvent[] = [];
  const listeners = new Set<() => void>();
  let stderr = "";
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  const notify = () => {
    for (const listener of [...listeners]) listener();
  };

  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const lines = createInterface({ input: child.stdout! });
  lines.on("line", (line) => {
    let parsed: { event: ElectorEventName; identity: string; at: string };
    try {
      parsed = JSON.parse(line);
    } catch {
      stderr += `unexpected line on stdout: ${line}\n`;
      return;
    }
    events.push({ event: parsed.event, identity: parsed.identity, at: new Date(parsed.at) });
    notify();
  });
  // "close" comes after stdout is drained, so every event is recorded before anyone sees the exit.
  const closed = new Promise<void>((resolve) => {
    child.once("close", (code, signal) => {
      exit = { code, signal };
      notify();
      resolve();
    });
  });
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  await spawned;

  const lastOf = (name: ElectorEventName): number => events.map((e) => e.event).lastIndexOf(name);
  const isLeading = () => lastOf("started_leading") > lastOf("stopped_leading");

  /** Resolves with what `find` returns once it returns something; rejects on timeout or exit. */
  const waitFor = (what: string, timeoutMs: number, find: () => ElectorEvent | undefined): Promise<ElectorEvent> =>
    new Promise((resolve, reject) => {
      const check = () => {
        const found = find();
        if (found) return finish(() => resolve(found));
        if (exit) return finish(() => reject(new Error(`elector ${options.identity} exited (${exit!.code ?? exit!.signal}) before it ${what}:\n${stderr}`)));
      };
      const timer = setTimeout(
        () => finish(() => reject(new Error(`elector ${options.identity} had not ${what} within ${timeoutMs} ms; events: ${JSON.stringify(events)}`))),
        timeoutMs,
      );
      const finish = (settle: () => void) => {
        clearTimeout(timer);
        listeners.delete(check);
        settle();
      };
      listeners.add(check);
      check();
    });

  return {
    identity: options.identity,
    events: () => [...events],
    isLeading,
    waitForStartedLeading: (timeoutMs) =>
      waitFor("started leading", timeoutMs, () => (isLeading() ? events[lastOf("started_leading")] : undefined)),
    waitForStoppedLeading: (timeoutMs) =>
      waitFor("stopped leading", timeoutMs, () => {
        // client-go also calls OnStoppedLeading when it exits without ever having led.
        const started = lastOf("started_leading");
        const stopped = lastOf("stopped_leading");
        return started >= 0 && stopped > started ? events[stopped] : undefined;
      }),
    logs: () => stderr,
    stop: () => stopElector(child, closed, () => exit?.code ?? null, options.renewDeadlineSeconds),
  };
}

async function stopElector(child: ChildProcess, closed: Promise<void>, exitCode: () => number | null, renewDeadlineSeconds: number): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) {
    child.kill("SIGTERM");
    // Releasing is one read and one write, each bounded by the renew deadline.
    const timer = setTimeout(() => child.kill("SIGKILL"), (2 * renewDeadlineSeconds + 5) * 1000);
    await closed;
    clearTimeout(timer);
  } else {
    await closed;
  }
  return exitCode();
}
