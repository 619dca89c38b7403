import { describe, expect, it } from "vitest";
import { memoryAppWithAliceForSuite } from "../support/memory-app.ts";

/**
 * A lock request's body is read once, before anything else looks at it: at most 16 KiB of it,
 * a JSON one only in UTF-8. These are the answers to bodies that break those rules, whether the
 * body says its length or comes in chunks.
 */
const LIMIT = 16 * 1024;
const JSON_TYPE = { "content-type": "application/json" };


const suite = memoryAppWithAliceForSuite();

const auth = () => ({ authorization: `Bearer ${suite.alice}` });

/** A POST whose body comes as a stream of these chunks, without a Content-Length. */
function chunked(path: string, chunks: Uint8Array[], headers: Record<string, string>) {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(chunk);
      controller.close();
    },
  });
  return suite.app.request(path, { method: "POST", headers, body, duplex: "half" } as RequestInit);
}

/** A POST whose body says its length. */
function declared(path: string, body: Uint8Array<ArrayBuffer> | string, headers: Record<string, string>) {
  const bytes = typeof body === "string" ? new TextEncoder().encode(body) : body;
  return suite.app.request(path, { method: "POST", headers: { ...headers, "content-length": String(bytes.byteLength) }, body: bytes });
}

/** An acquire body of exactly `size` bytes: a holder (always too long to be valid) padded out. */
function acquireBodyOf(size: number): string {
  const frame = JSON.stringify({ holder: "" });
  return JSON.stringify({ holder: "h".repeat(size - frame.length) });
}

async function problemOf(res: Response) {
  expect(res.headers.get("content-type")).toBe("application/problem+json");
  return { status: res.status, ...((await res.json()) as Record<string, unknown>) };
}

const utf8 = (text: string) => new TextEncoder().encode(text);
const notUtf8 = Uint8Array.from([...utf8('{"holder":"ci-'), 0xff, 0xfe, ...utf8('"}')]);

describe("a lock request's body", () => {
  it("is refused with 413 payload_too_large over 16 KiB, by its declared length or by the bytes of a chunked one", async () => {
    const over = acquireBodyOf(LIMIT + 1);
    expect(await problemOf(await declared("/locks/team-a-big/acquire", over, { ...auth(), ...JSON_TYPE }))).toMatchObject({ status: 413, code: "payload_too_large" });
    const pieces = [utf8(over.slice(0, 10_000)), utf8(over.slice(10_000))];
    expect(await problemOf(await chunked("/locks/team-a-big/acquire", pieces, { ...auth(), ...JSON_TYPE }))).toMatchObject({ status: 413, code: "payload_too_large" });
    expect(await suite.store.get("team-a-big")).toBeNull();
  });

  it("of exactly 16 KiB is read and validated, whether declared or chunked", async () => {
    const atLimit = acquireBodyOf(LIMIT);
    expect(new TextEncoder().encode(atLimit).byteLength).toBe(LIMIT);
    const byLength = await problemOf(await declared("/locks/team-a-edge/acquire", atLimit, { ...auth(), ...JSON_TYPE }));
    expect(byLength).toMatchObject({ status: 400, code: "invalid_request", errors: [{ path: "json.holder" }] });
    const byChunks = await problemOf(await chunked("/locks/team-a-edge/acquire", [utf8(atLimit.slice(0, 7)), utf8(atLimit.slice(7))], { ...auth(), ...JSON_TYPE }));
    expect(byChunks).toMatchObject({ status: 400, code: "invalid_request", errors: [{ path: "json.holder" }] });
  });

  it("too large is refused before the caller is authenticated; one that is not UTF-8 only after", async () => {
    const over = acquireBodyOf(LIMIT + 1);
    expect((await declared("/locks/team-a-anon/acquire", over, JSON_TYPE)).status).toBe(413);
    expect((await chunked("/locks/team-a-anon/acquire", [utf8(over)], JSON_TYPE)).status).toBe(413);
    expect(await problemOf(await declared("/locks/team-a-anon/acquire", notUtf8, JSON_TYPE))).toMatchObject({ status: 401, code: "unauthenticated" });
  });

  it("in JSON that is not UTF-8 is refused with 400, declared or chunked, and nothing is written", async () => {
    const expected = {
      status: 400,
      code: "invalid_request",
      detail: "the request body is not valid UTF-8",
      errors: [{ path: "json", message: "must be encoded as UTF-8" }],
    };
    const byLength = await declared("/locks/team-a-bytes/acquire", notUtf8, { ...auth(), ...JSON_TYPE });
    expect(byLength.headers.get("cache-control")).toBe("no-store");
    expect(byLength.headers.get("server-timing")).toBe('kube;desc="0 requests"');
    expect(await problemOf(byLength)).toMatchObject(expected);
    // Split inside the invalid sequence: the bytes are judged together, not chunk by chunk.
    const split = notUtf8.indexOf(0xff);
    expect(await problemOf(await chunked("/locks/team-a-bytes/acquire", [notUtf8.subarray(0, split), notUtf8.subarray(split)], { ...auth(), ...JSON_TYPE }))).toMatchObject(expected);
    expect(await suite.store.get("team-a-bytes")).toBeNull();
  });

  it("in UTF-8 split anywhere, even inside a character, arrives as the caller sent it", async () => {
    const bytes = utf8(JSON.stringify({ holder: "ci-über-日本" }));
    const inside = bytes.indexOf(0xc3) + 1;
    const res = await chunked("/locks/team-a-unicode/acquire", [bytes.subarray(0, inside), bytes.subarray(inside)], { ...auth(), ...JSON_TYPE });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ holder: "ci-über-日本" });
  });

  it("that is malformed JSON is refused with 400, and an empty JSON body too", async () => {
    const malformed = { status: 400, code: "invalid_request", detail: "Malformed JSON in request body" };
    expect(await problemOf(await declared("/locks/team-a-json/acquire", "{not json", { ...auth(), ...JSON_TYPE }))).toMatchObject(malformed);
    expect(await problemOf(await chunked("/locks/team-a-json/acquire", [utf8("{not"), utf8(" json")], { ...auth(), ...JSON_TYPE }))).toMatchObject(malformed);
    expect(await problemOf(await declared("/locks/team-a-json/acquire", "", { ...auth(), ...JSON_TYPE }))).toMatchObject(malformed);
  });

  it("that is not JSON is refused with 415, or with 413 when it is also too large", async () => {
    const text = { ...auth(), "content-type": "text/plain" };
    expect(await problemOf(await declared("/locks/team-a-text/acquire", "hello", text))).toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(await problemOf(await chunked("/locks/team-a-text/acquire", [utf8("hel"), utf8("lo")], text))).toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(await problemOf(await chunked("/locks/team-a-text/acquire", [utf8("hello")], auth()))).toMatchObject({ status: 415, code: "unsupported_media_type" });
    expect(await problemOf(await chunked("/locks/team-a-text/acquire", [new Uint8Array(LIMIT + 1)], text))).toMatchObject({ status: 413, code: "payload_too_large" });
  });

  it("that breaks off before its end is refused with 400, before anything else", async () => {
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(utf8('{"holder":'));
        controller.error(new TypeError("terminated"));
      },
    });
    const res = await suite.app.request("/locks/team-a-cut/acquire", { method: "POST", headers: JSON_TYPE, body, duplex: "half" } as RequestInit);
    expect(await problemOf(res)).toMatchObject({ status: 400, code: "invalid_request", errors: [{ path: "body" }] });
    expect(await suite.store.get("team-a-cut")).toBeNull();
  });

  it("that is valid is used once for the whole lifecycle, chunked or declared", async () => {
    const acquired = await chunked("/locks/team-a-ok/acquire", [utf8('{"holder":'), utf8('"ci","ttlSeconds":20}')], { ...auth(), ...JSON_TYPE });
    expect(acquired.status).toBe(200);
    const grant = (await acquired.json()) as { token: string; holder: string; ttlSeconds: number };
    expect(grant).toMatchObject({ holder: "ci", ttlSeconds: 20 });
    const renewed = await declared("/locks/team-a-ok/renew", JSON.stringify({ token: grant.token, ttlSeconds: 40 }), { ...auth(), ...JSON_TYPE });
    expect(await renewed.json()).toMatchObject({ ttlSeconds: 40, token: grant.token });
    const released = await declared("/locks/team-a-ok/release", JSON.stringify({ token: grant.token }), { ...auth(), "content-type": "application/json; charset=utf-8" });
    expect(await released.json()).toEqual({ released: true });
  });
});
