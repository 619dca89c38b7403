import { type ChildProcess, spawn } from "node:child_process";
import { signalExitCode } from "./exit-codes.ts";

/** How the command ended. */
export type ChildEnd =
  | { kind: "exited"; code: number }
  | { kind: "signaled"; signal: NodeJS.Signals }
  | { kind: "spawn-failed"; error: NodeJS.ErrnoException };

/** A command run with inherited stdio, as a shell would run it. */
export class Child {
  readonly process: ChildProcess;
  readonly ended: Promise<ChildEnd>;
  #end?: ChildEnd;
  #killTimer?: NodeJS.Timeout;

  constructor(commandLine: string[], env: Record<string, string | undefined>) {
    this.process = spawn(commandLine[0]!, commandLine.slice(1), { stdio: "inherit", env });
    this.ended = new Promise<ChildEnd>((resolve) => {
      this.process.once("error", (error: NodeJS.ErrnoException) => {
        // Only a failure to start ends it; a failed kill() of a running child also lands here.
        if (this.process.pid === undefined) this.#finish({ kind: "spawn-failed", error }, resolve);
      });
      this.process.once("exit", (code, signal) => {
        this.#finish(signal ? { kind: "signaled", signal } : { kind: "exited", code: code ?? 0 }, resolve);
      });
    });
  }

  get running(): boolean {
    return this.#end === undefined;
  }

  signal(signal: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.process.kill(signal);
    } catch {
      // it exited meanwhile
    }
  }

  /** SIGTERM now, SIGKILL after `graceMs` if it is still running. */
  terminate(graceMs: number): void {
    this.signal("SIGTERM");
    if (this.#killTimer) return;
    this.#killTimer = setTimeout(() => this.signal("SIGKILL"), graceMs);
  }

  #finish(end: ChildEnd, resolve: (end: ChildEnd) => void): void {
    if (this.#end) return;
    this.#end = end;
    clearTimeout(this.#killTimer);
    resolve(end);
  }
}

/** A shell's exit status for how the command ended: its code, 128+N for signal N, 127/126 if it could not start. */
export function childExitCode(end: ChildEnd): number {
  switch (end.kind) {
    case "exited":
      return end.code;
    case "signaled":
      return signalExitCode(end.signal);
    case "spawn-failed":
      return end.error.code === "ENOENT" ? 127 : 126;
  }
}
