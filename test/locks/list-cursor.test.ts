import { beforeEach, describe, expect, it } from "vitest";
import { ListCursors } from "../../src/locks/list-cursor.ts";

const ALICE_ALL = JSON.stringify(["https://idp", "alice", ""]);
const LOCK_NAME = "payroll-merger-2027";
const REVISION = "48213977";
/** A continuation as the apiserver hands it out: base64 JSON with the revision and the last key of the page. */
const KUBE_CONTINUE = Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: Number(REVISION), start: `${LOCK_NAME}\u0000` })).toString("base64");

let key: Uint8Array;
let cursors: ListCursors;

const randomKey = () => crypto.getRandomValues(new Uint8Array(32));

beforeEach(async () => {
  key = randomKey();
  cursors = await ListCursors.import([key]);
});

/** `text` in base64 and base64url at every alignment it can have inside a longer encoding. */
function base64Forms(text: string): string[] {
  const forms: string[] = [];
  for (let shift = 0; shift < 3; shift++) {
    const encoded = Buffer.from(`${"x".repeat(shift)}${text}`).toString("base64");
    // Leading characters mix in the shift bytes and trailing ones the bytes after: keep the stable middle.
    const stable = encoded.slice(Math.ceil((shift * 4) / 3), -4);
    forms.push(stable, stable.replace(/\+/g, "-").replace(/\//g, "_"));
  }
  return forms;
}

describe("ListCursors", () => {
  it("opens what it sealed, for the same scope", async () => {
    const cursor = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    expect(cursor).toMatch(/^lc1\.[A-Za-z0-9_-]+$/);
    expect(await cursors.open(cursor, ALICE_ALL)).toBe(KUBE_CONTINUE);
  });

  it("round-trips continuations longer than a padding block and outside ASCII", async () => {
    const continuation = `ünïcode-${"z".repeat(1500)}-🔒`;
    expect(await cursors.open(await cursors.seal(continuation, ALICE_ALL), ALICE_ALL)).toBe(continuation);
  });

  it("refuses a cursor altered anywhere, cut short, extended or re-labelled", async () => {
    const cursor = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    const body = cursor.slice("lc1.".length);
    const altered: string[] = [];
    for (let at = 0; at < body.length; at++) {
      const flipped = body[at] === "A" ? "B" : "A";
      altered.push(`lc1.${body.slice(0, at)}${flipped}${body.slice(at + 1)}`);
    }
    altered.push(`lc1.${body.slice(0, -4)}`, `lc1.${body}AAAA`, `lc2.${body}`, body, "lc1.", "lc1.!!!!", "", `lc1.${"A".repeat(5000)}`);
    const opened = await Promise.all(altered.map((text) => cursors.open(text, ALICE_ALL)));
    expect(opened.filter((result) => result !== null)).toEqual([]);
  });

  it("opens only for the caller and prefix it was sealed for", async () => {
    const cursor = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    const others = [
      JSON.stringify(["https://idp", "bob", ""]),
      JSON.stringify(["https://other-idp", "alice", ""]),
      JSON.stringify(["https://idp", "alice", "team-a-"]),
      "",
    ];
    for (const scope of others) expect(await cursors.open(cursor, scope)).toBeNull();
  });

  it("opens cursors sealed under a rotated-out key while it is configured, and none under an unknown key", async () => {
    const newKey = randomKey();
    const sealedBefore = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    const rotated = await ListCursors.import([newKey, key]);
    expect(await rotated.open(sealedBefore, ALICE_ALL)).toBe(KUBE_CONTINUE);

    const sealedAfter = await rotated.seal(KUBE_CONTINUE, ALICE_ALL);
    expect(await (await ListCursors.import([newKey])).open(sealedAfter, ALICE_ALL)).toBe(KUBE_CONTINUE);
    expect(await (await ListCursors.import([newKey])).open(sealedBefore, ALICE_ALL)).toBeNull();
    expect(await (await ListCursors.import([randomKey()])).open(sealedAfter, ALICE_ALL)).toBeNull();
  });

  it("encrypts under a key derived for cursors, not under the token key itself", async () => {
    const rawKey = await crypto.subtle.importKey("raw", key as BufferSource, "AES-GCM", false, ["encrypt"]);
    const iv = crypto.getRandomValues(new Uint8Array(12));
    const padded = new Uint8Array(512);
    padded.set(new TextEncoder().encode(KUBE_CONTINUE));
    padded[KUBE_CONTINUE.length] = 0x80;
    const ciphertext = new Uint8Array(
      await crypto.subtle.encrypt({ name: "AES-GCM", iv, additionalData: new TextEncoder().encode(`lc1\n${ALICE_ALL}`) }, rawKey, padded),
    );
    const underRawKey = `lc1.${Buffer.concat([iv, ciphertext]).toString("base64url")}`;
    expect(await cursors.open(underRawKey, ALICE_ALL)).toBeNull();
  });

  it("reveals nothing of the continuation: not the lock name, the revision, nor their base64", async () => {
    const cursor = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    const secrets = [LOCK_NAME, REVISION, KUBE_CONTINUE, ...base64Forms(LOCK_NAME), ...base64Forms(REVISION), ...base64Forms(KUBE_CONTINUE)];
    const decoded = Buffer.from(cursor.slice("lc1.".length), "base64url").toString("latin1");
    for (const secret of secrets) {
      expect(cursor).not.toContain(secret);
      expect(decoded).not.toContain(secret);
    }
    // The check can fail: it finds the name inside the apiserver's continuation, and that in a cursor that only encodes it.
    expect(base64Forms(LOCK_NAME).some((form) => KUBE_CONTINUE.includes(form))).toBe(true);
    expect(base64Forms(KUBE_CONTINUE).some((form) => Buffer.from(KUBE_CONTINUE).toString("base64url").includes(form))).toBe(true);
  });

  it("has the same length whatever the length of the name it resumes after", async () => {
    const lengths = new Set<number>();
    for (const name of ["a", "b".repeat(63), `${"c".repeat(63)}.${"d".repeat(63)}.${"e".repeat(63)}.${"f".repeat(61)}`]) {
      // The largest revision etcd can reach (int64), written as the apiserver writes it.
      const continuation = Buffer.from(`{"v":"meta.k8s.io/v1","rv":9223372036854775807,"start":"${name}\\u0000"}`).toString("base64");
      lengths.add((await cursors.seal(continuation, ALICE_ALL)).length);
    }
    expect([...lengths]).toHaveLength(1);
  });

  it("gives a different text every time, so two cursors cannot be matched to the same position", async () => {
    const first = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    const second = await cursors.seal(KUBE_CONTINUE, ALICE_ALL);
    expect(first).not.toBe(second);
  });

  it("needs at least one key", async () => {
    await expect(ListCursors.import([])).rejects.toThrow(/at least one/);
  });
});
