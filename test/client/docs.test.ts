import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";

/** docs/client.md quotes the tested recipe; the quote stays the code that is tested. */
const root = new URL("../..", import.meta.url).pathname;
const docs = readFileSync(`${root}docs/client.md`, "utf8");
const recipe = readFileSync(`${root}test/client/fixtures/webhook-handler.ts`, "utf8");

describe("docs/client.md", () => {
  it("quotes the webhook recipe's withLock call exactly as the tested handler has it", () => {
    const quoted = [...docs.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!).find((block) => block.includes("github-delivery-"));
    expect(quoted).toBeDefined();
    expect(recipe).toContain(quoted!.trim());
  });

  it("documents every option of withLock and every error class the client exports", async () => {
    const client = await import("../../src/client/index.ts");
    const errorClasses = Object.entries(client).filter(([, value]) => typeof value === "function" && value.prototype instanceof Error).map(([name]) => name);
    for (const name of errorClasses) expect(docs, name).toContain(`\`${name}\``);
    for (const option of ["ttlSeconds", "waitSeconds", "holder", "metadata", "idempotencyKey", "signal", "throwIfLost", "observer"]) {
      expect(docs).toMatch(new RegExp(`^\\| \`${option}\` \\|`, "m"));
    }
  });
});
