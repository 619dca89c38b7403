import { formatDuration } from "./duration.ts";
import { describeStanding, type Standing } from "./queue-standing.ts";
import { monotonicNow } from "../client/timing.ts";

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const TTY_INTERVAL_MS = 1000;
const LOG_INTERVAL_MS = 15_000;

/**
 * The "waiting for <lock>" report on stderr: the caller's place in line and who holds the lock
 * until when. On a terminal one line rewritten every second; in logs (CI) one line when waiting
 * starts and then one every ~15 s.
 */
export class WaitProgress {
  readonly #out: ProgressStream;
  readonly #lock: string;
  readonly #waitMs: number;
  readonly #started = monotonicNow();
  readonly #tty: boolean;
  #standing?: Standing;
  #note?: string;
  #timer?: NodeJS.Timeout;
  #drawn = false;

  constructor(out: ProgressStream, lock: string, waitMs: number) {
    this.#out = out;
    this.#lock = lock;
    this.#waitMs = waitMs;
    this.#tty = Boolean(out.isTTY);
  }

  /** Time spent waiting so far. */
  get waitedMs(): number {
    return monotonicNow() - this.#started;
  }

  /** The gateway refused the lock for now: it is held, or others are ahead in line. */
  refused(standing: Standing): void {
    this.#standing = standing;
    this.#note = undefined;
    this.#start();
  }

  /** A transient failure while waiting (the gateway is unavailable …). */
  retrying(reason: string): void {
    this.#note = reason;
    this.#start();
  }

  /** Stops reporting; on a terminal, clears the line. */
  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    if (this.#tty && this.#drawn) this.#out.write("\r\x1b[2K");
    this.#drawn = false;
  }

  /** The current line, without decoration. */
  line(now = Date.now()): string {
    const waited = `waited ${formatDuration(this.waitedMs)}${Number.isFinite(this.#waitMs) ? ` of ${formatDuration(this.#waitMs)}` : ""}`;
    if (this.#note) return `leasegate: waiting for ${this.#lock}: ${this.#note}; ${waited}`;
    return `leasegate: waiting for ${this.#lock}: ${describeStanding(this.#standing ?? {}, now)}; ${waited}`;
  }

  #start(): void {
    if (this.#timer) {
      if (this.#tty) this.#draw();
      return;
    }
    this.#draw();
    this.#timer = setInterval(() => this.#draw(), this.#tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS);
    this.#timer.unref();
  }

  #draw(): void {
    const text = this.line();
    if (this.#tty) {
      const width = Math.max(20, (this.#out.columns ?? 100) - 1);
      this.#out.write(`\r\x1b[2K${text.length > width ? `${text.slice(0, width - 1)}…` : text}`);
      this.#drawn = true;
    } else {
      this.#out.write(`${text}\n`);
    }
  }
}
