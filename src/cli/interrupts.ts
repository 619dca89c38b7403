/** The signals `run` forwards to its command and every subcommand treats as "stop". */
export const FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const satisfies NodeJS.Signals[];

/**
 * Catches SIGINT, SIGTERM and SIGHUP for the lifetime of a command instead of letting Node
 * exit, so that a lock can still be released. The first signal aborts `signal`; listeners (such
 * as the forwarder to a child process) see every one.
 */
export class Interrupts {
  readonly #controller = new AbortController();
  readonly #listeners: Array<(signal: NodeJS.Signals) => void> = [];
  readonly #handlers = new Map<NodeJS.Signals, () => void>();
  #received?: NodeJS.Signals;

  /** The first signal received, if any. */
  get received(): NodeJS.Signals | undefined {
    return this.#received;
  }

  /** Aborted at the first signal. */
  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  install(): void {
    for (const name of FORWARDED_SIGNALS) {
      const handler = () => {
        this.#received ??= name;
        this.#controller.abort(name);
        for (const listener of this.#listeners) listener(name);
      };
      this.#handlers.set(name, handler);
      process.on(name, handler);
    }
  }

  uninstall(): void {
    for (const [name, handler] of this.#handlers) process.off(name, handler);
    this.#handlers.clear();
  }

  /** Calls `listener` for every signal from now on; returns a function that stops that. */
  onSignal(listener: (signal: NodeJS.Signals) => void): () => void {
    this.#listeners.push(listener);
    return () => {
      const i = this.#listeners.indexOf(listener);
      if (i >= 0) this.#listeners.splice(i, 1);
    };
  }
}
