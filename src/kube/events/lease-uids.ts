/**
 * Lease UIDs by namespace and name, learnt from the Lease answers the gateway gets anyway: an
 * Event follows the write that caused it, whose answer carried the Lease's UID, so recording
 * history costs no extra read. Bounded: the oldest names are forgotten first.
 */
export class LeaseUids {
  readonly #uids = new Map<string, string>();
  readonly #maxEntries: number;

  constructor(maxEntries = 4096) {
    this.#maxEntries = maxEntries;
  }

  /** Notes what a Lease answer says; anything without a name and UID is ignored. */
  remember(lease: unknown): void {
    const metadata = (lease as { metadata?: { name?: unknown; namespace?: unknown; uid?: unknown } } | null | undefined)?.metadata;
    if (typeof metadata?.name !== "string" || typeof metadata.namespace !== "string" || typeof metadata.uid !== "string") return;
    const key = keyOf(metadata.namespace, metadata.name);
    if (this.#uids.get(key) === metadata.uid) return;
    this.#uids.delete(key);
    this.#uids.set(key, metadata.uid);
    if (this.#uids.size > this.#maxEntries) this.#uids.delete(this.#uids.keys().next().value!);
  }

  forget(namespace: string, name: string): void {
    this.#uids.delete(keyOf(namespace, name));
  }

  get(namespace: string, name: string): string | undefined {
    return this.#uids.get(keyOf(namespace, name));
  }
}

function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}
