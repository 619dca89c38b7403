import { formatDuration } from "./duration.ts";
import { describeHolder } from "./failures.ts";
import { formatInstant, monotonicNow } from "./timing.ts";

/** Who holds the lock we wait for, as the gateway's lock_held problem says. */
export interface HeldInfo {
  holder?: string;
  subject?: string;
  expiresAt?: string;
}

export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

const TTY_INTERVAL_MS = 1000;
const LOG_INTERVAL_MS = 15_000;

/**
 * The "waiting for <lock>" report on stderr: on a terminal one line rewritten every second; in
 * logs (CI) one line when waiting starts and then one every ~15 s.
 */
export class WaitProgress {
  readonly #out: ProgressStream;
  readonly #lock: string;
  readonly #waitMs: number;
  readonly #started = monotonicNow();
  readonly #tty: boolean;
  #held?: HeldInfo;
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

  /** The lock is held by someone else. */
  held(info: HeldInfo): void {
    this.#held = info;
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
    const info = this.#held ?? {};
    const who = describeHolder(info.holder, info.subject) || "another caller";
    let until = "";
    if (info.expiresAt) {
      const left = Date.parse(info.expiresAt) - now;
      until = left >= 0 ? ` until ${formatInstant(info.expiresAt)} (in ${formatDuration(left)})` : ` until ${formatInstant(info.expiresAt)} (expired, awaiting takeover)`;
    }
    return `leasegate: waiting for ${this.#lock}: held by ${who}${until}; ${waited}`;
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
