import { describe, expect, it } from "vitest";
import { memoryAppWithAliceForSuite } from "../support/memory-app.ts";

/**
 * Holder labels and metadata are shown to other callers: in the CLI's wait progress and errors,
 * in `status` and `list`, in CI logs and in `kubectl get leases`. Characters that terminals or
 * log parsers act on, or that reorder what is displayed, are refused before anything is written.
 */

const suite = memoryAppWithAliceForSuite();

const acquire = (lock: string, body: unknown) =>
  suite.app.request(`/locks/${lock}/acquire`, {
    method: "POST",
    headers: { authorization: `Bearer ${suite.alice}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });

const codePoints = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
const hex = (codePoint: number) => `U+${codePoint.toString(16).toUpperCase().padStart(4, "0")}`;

/** Every character the rule refuses: C0 (tab and newline too), DEL, C1, bidirectional formatting. */
const REFUSED = [
  ...codePoints(0x00, 0x1f),
  0x7f,
  ...codePoints(0x80, 0x9f),
  0x061c,
  0x200e,
  0x200f,
  ...codePoints(0x202a, 0x202e),
  ...codePoints(0x2066, 0x2069),
];

/** Neighbours of the refused ranges and ordinary non-ASCII text, which stay allowed. */
const ALLOWED = ["space and ~", "\u00a0no-break", "Zoë Ørsted", "日本語", "שלום עולם", "emoji 🚀👩‍💻", "\u061b", "\u200d", "\u2029", "\u202f", "\u2065", "\u206a"];

async function expectRefused(res: Response, path: string, codePoint: number) {
  expect(res.status).toBe(400);
  const problem = (await res.json()) as { code: string; errors: Array<{ path: string; message: string }> };
  expect(problem.code).toBe("invalid_request");
  expect(problem.errors).toEqual([{ path, message: expect.stringContaining(`(found ${hex(codePoint)})`) }]);
}

describe("text shown to other callers", () => {
  it.each(REFUSED.map((codePoint) => [hex(codePoint), codePoint]))("refuses %s in a holder label, writing nothing", async (_, codePoint) => {
    const lock = `team-a-holder-${codePoint.toString(16)}`;
    await expectRefused(await acquire(lock, { holder: `ci${String.fromCodePoint(codePoint)}job` }), "json.holder", codePoint);
    expect(await suite.store.get(lock)).toBeNull();
  });

  it.each(REFUSED.map((codePoint) => [hex(codePoint), codePoint]))("refuses %s in a metadata value, naming its key", async (_, codePoint) => {
    const lock = `team-a-meta-${codePoint.toString(16)}`;
    await expectRefused(await acquire(lock, { holder: "ci", metadata: { run: "1", commit: `abc${String.fromCodePoint(codePoint)}` } }), "json.metadata.commit", codePoint);
    expect(await suite.store.get(lock)).toBeNull();
  });

  it("refuses a metadata key with a control character, naming the key", async () => {
    const res = await acquire("team-a-meta-key", { metadata: { "a\nb": "x", "x\u001b[31m": "y" } });
    expect(res.status).toBe(400);
    const problem = (await res.json()) as { errors: Array<{ path: string }> };
    expect(problem.errors.map((e) => e.path).sort()).toEqual(["json.metadata.a\nb", "json.metadata.x\u001b[31m"]);
    expect(await suite.store.get("team-a-meta-key")).toBeNull();
  });

  it("refuses the workflow-command injection of a holder that starts new log lines", async () => {
    const holder = "x\n::stop-commands::zz\n::add-mask::nothing\nzz";
    await expectRefused(await acquire("team-a-inject", { holder }), "json.holder", 0x0a);
    expect(await suite.store.get("team-a-inject")).toBeNull();
  });

  it.each(ALLOWED)("accepts %j as a holder label and a metadata value, and shows it back unchanged", async (text) => {
    const lock = `team-a-ok-${ALLOWED.indexOf(text)}`;
    const res = await acquire(lock, { holder: text, metadata: { note: text } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ holder: text, metadata: { note: text } });
    expect((await suite.store.get(lock))?.record).toBeDefined();
  });
});
