/**
 * Counts what the gateway gave up on telling: lock history Events, webhook deliveries. Whoever
 * drops something calls it with a short, fixed reason (`rate_limited`, `forbidden`, …) — never a
 * lock name, subject or URL, which would make one series per value. It returns at once and never
 * throws; what it may return is work to keep alive with the request's `background` (on Workers
 * a dataset binding that answers with a promise).
 */
export interface DropCounter {
  dropped(reason: string): void | Promise<unknown>;
}

export const noDrops: DropCounter = { dropped: () => {} };

/** Counts webhook messages given up on, by a fixed reason and the endpoint's configured name (bounded by the configuration). */
export interface WebhookDropCounter {
  dropped(reason: string, endpoint: string): void | Promise<unknown>;
}
