import { describe } from "vitest";
import { MemoryStore } from "../../src/locks/memory-store.ts";
import { lockStoreContract } from "./lock-store-contract.ts";

describe("MemoryStore", () => {
  lockStoreContract(async () => {
    const store = new MemoryStore();
    return {
      store,
      async writeAsOtherClient(name, holder) {
        const current = (await store.get(name))!;
        // The raw record, grant details included: the store must stop counting them itself.
        const raw = { ...current.record, grant: current.record.grant ?? undefined, holderIdentity: holder.holderIdentity ?? undefined };
        await store.replace(name, { ...raw, renewedAt: holder.renewedAt, ttlSeconds: holder.ttlSeconds }, current.resourceVersion);
      },
    };
  });
});
