import type { Random } from "../support/random.ts";

/**
 * Generates malformed requests for the lock API, and the oracle that keeps well-formed ones out.
 *
 * Every generated request carries at least one defect (bad body, name, header, size, method,
 * query or credentials). Random choices can still produce a request that a correct gateway
 * might carry out (a mutated JSON text that is still a valid body, a percent-encoded name that
 * decodes to a valid one, a dot-segment path that normalises onto a real route…); `couldSucceed`
 * recognises those from first principles — the API as documented, not the gateway's code — and
 * they are generated again.
 */
export interface FuzzContext {
  /** A valid JWT whose policy allows every action on every lock. */
  jwt: string;
  /** Locks that exist and are held; their tokens are never given to the generator. */
  heldNames: string[];
}

export interface FuzzCase {
  index: number;
  kind: string;
  method: string;
  /** The request target, sent byte for byte. */
  path: string;
  headers: Record<string, string | string[]>;
  body?: Buffer;
  chunked?: boolean;
  ownConnection?: boolean;
}

const MAX_BODY_BYTES = 16 * 1024;
const LOWER = "abcdefghijklmnopqrstuvwxyz";
const DIGITS = "0123456789";
const B64URL = `${LOWER}${LOWER.toUpperCase()}${DIGITS}-_`;
const JSON_CT = "application/json";

// ---------------------------------------------------------------------------------------------
// The oracle: could a correct gateway carry this request out (2xx, or a write)?
// ---------------------------------------------------------------------------------------------

/** DNS-1123 subdomain, as README and Kubernetes define lock (Lease) names. */
export function isValidLockName(name: string): boolean {
  return name.length >= 1 && name.length <= 253 && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name);
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The ways a server may read the path: as sent, and normalised (dot segments resolved). */
function pathReadings(target: string): string[][] {
  const rawPath = target.split("?")[0]!;
  const readings = [rawPath];
  try {
    readings.push(new URL(target, "http://gateway.invalid").pathname);
  } catch {
    // unparsable: only the raw reading
  }
  return readings.map((p) => p.split("/").map(safeDecode));
}

function headerValue(headers: Record<string, string | string[]>, name: string): string | undefined {
  const entry = Object.entries(headers).find(([k]) => k.toLowerCase() === name);
  if (!entry) return undefined;
  return Array.isArray(entry[1]) ? entry[1].join(", ") : entry[1];
}

const trimOws = (v: string) => v.replace(/^[ \t]+|[ \t]+$/g, "");

function authValid(c: FuzzCase, ctx: FuzzContext): boolean {
  const value = headerValue(c.headers, "authorization");
  return value !== undefined && trimOws(value) === `Bearer ${ctx.jwt}`;
}

function idempotencyKeyValid(c: FuzzCase): boolean {
  const value = headerValue(c.headers, "idempotency-key");
  return value === undefined || /^[\x21-\x7e]{1,255}$/.test(trimOws(value));
}

/** A JSON media type (application/json or application/*+json), parameters allowed. */
function isJsonContentType(value: string | undefined): boolean {
  if (value === undefined) return false;
  const [type, ...params] = value.split(";");
  if (!/^application\/([a-z0-9.-]+\+)?json$/i.test(trimOws(type!))) return false;
  return params.every((p) => /^\s*[A-Za-z0-9-]+=[^;]+$/.test(p));
}

function isWellFormedUnicode(s: string): boolean {
  return !/[\uD800-\uDFFF]/u.test(s);
}

function validAcquireValue(value: unknown): boolean {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return false;
  for (const [key, v] of Object.entries(value)) {
    if (key === "holder") {
      if (typeof v !== "string" || v.length < 1 || v.length > 128 || !isWellFormedUnicode(v)) return false;
    } else if (key === "ttlSeconds") {
      if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 1) return false;
    } else if (key === "metadata") {
      if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
      for (const [mk, mv] of Object.entries(v)) {
        if (!/^[A-Za-z0-9_.-]{1,63}$/.test(mk) || typeof mv !== "string") return false;
      }
      if (Buffer.byteLength(JSON.stringify(v), "utf8") > 4096) return false;
    } else {
      return false;
    }
  }
  return true;
}

function acquireBodyCouldSucceed(c: FuzzCase): boolean {
  const body = c.body ?? Buffer.alloc(0);
  if (body.length === 0) return true; // no body: defaults (whatever the content type says)
  if (body.length > MAX_BODY_BYTES) return false;
  if (!isJsonContentType(headerValue(c.headers, "content-type"))) return false;
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(body);
  } catch {
    return false;
  }
  try {
    return validAcquireValue(JSON.parse(text));
  } catch {
    return false;
  }
}

/** A Kubernetes continue token the apiserver would accept (base64url JSON naming a start key). */
function plausibleContinue(value: string): boolean {
  try {
    const token = JSON.parse(Buffer.from(value, "base64url").toString("utf8")) as Record<string, unknown>;
    return token.v === "meta.k8s.io/v1" && Number.isInteger(token.rv) && token.rv !== 0 && typeof token.start === "string" && token.start.length > 0;
  } catch {
    return false;
  }
}

function listQueryValid(target: string): boolean {
  const query = target.includes("?") ? target.slice(target.indexOf("?") + 1) : "";
  let params: URLSearchParams;
  try {
    params = new URLSearchParams(query);
  } catch {
    return false;
  }
  const limit = params.getAll("limit");
  const prefix = params.getAll("prefix");
  const cont = params.getAll("continue");
  if (limit.length > 1 || prefix.length > 1 || cont.length > 1) return false;
  if (limit.length === 1) {
    const n = Number(limit[0]);
    if (!Number.isSafeInteger(n) || n < 1 || n > 500) return false;
  }
  if (prefix.length === 1 && (prefix[0]!.length > 253 || !/^[a-z0-9.-]*$/.test(prefix[0]!))) return false;
  if (cont.length === 1 && cont[0] !== "" && (cont[0]!.length > 4096 || !plausibleContinue(cont[0]!))) return false;
  return true;
}

export function couldSucceed(c: FuzzCase, ctx: FuzzContext): boolean {
  const method = c.method.toUpperCase();
  for (const segments of pathReadings(c.path)) {
    const path = segments.join("/");
    if ((method === "GET" || method === "HEAD") && ["/healthz", "/readyz", "/openapi.json"].includes(path)) return true;
    if (segments[0] !== "" || segments[1] !== "locks") continue;
    if (!authValid(c, ctx)) continue;
    if (segments.length === 2) {
      if ((method === "GET" || method === "HEAD") && listQueryValid(c.path)) return true;
      continue;
    }
    const name = segments[2]!;
    if (!isValidLockName(name)) continue;
    if (segments.length === 3 && ["GET", "HEAD", "DELETE"].includes(method)) return true;
    if (segments.length === 4 && method === "POST" && segments[3] === "acquire") {
      if (idempotencyKeyValid(c) && acquireBodyCouldSucceed(c)) return true;
    }
    // renew and release need a real lock token, which the generator never has.
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// The generator.
// ---------------------------------------------------------------------------------------------

export function generateCases(rng: Random, ctx: FuzzContext, count: number): { cases: FuzzCase[]; regenerated: number } {
  const g = new Generator(rng, ctx);
  const cases: FuzzCase[] = [];
  let regenerated = 0;
  while (cases.length < count) {
    const c = g.next(cases.length);
    if (couldSucceed(c, ctx)) {
      regenerated++;
      continue;
    }
    cases.push(c);
  }
  return { cases, regenerated };
}

export function describeCase(c: FuzzCase): string {
  const body = c.body === undefined ? "" : ` body(${c.body.length}${c.chunked ? ", chunked" : ""})=${JSON.stringify(c.body.subarray(0, 160).toString("latin1"))}`;
  const headers = Object.fromEntries(
    Object.entries(c.headers).map(([k, v]) => [k, typeof v === "string" && v.length > 80 ? `${v.slice(0, 60)}…(${v.length})` : v]),
  );
  const path = c.path.length > 200 ? `${c.path.slice(0, 160)}…(${c.path.length})` : c.path;
  return `#${c.index} [${c.kind}] ${c.method} ${path} ${JSON.stringify(headers)}${body}`;
}

type Op = "acquire" | "renew" | "release";

class Generator {
  readonly #rng: Random;
  readonly #ctx: FuzzContext;

  constructor(rng: Random, ctx: FuzzContext) {
    this.#rng = rng;
    this.#ctx = ctx;
  }

  next(index: number): FuzzCase {
    const r = this.#rng;
    const kind = r.weighted<string>([
      [20, "body:acquire"],
      [8, "body:renew"],
      [6, "body:release"],
      [14, "name"],
      [6, "idempotency-key"],
      [8, "authorization"],
      [5, "unauthenticated"],
      [4, "size"],
      [8, "method"],
      [12, "query"],
      [6, "content-type"],
      [5, "non-utf8"],
    ]);
    const c = this.#make(kind);
    return { index, kind, ...c };
  }

  #make(kind: string): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    switch (kind) {
      case "body:acquire":
        return this.#post("acquire", this.#validName(), this.#badAcquireBody());
      case "body:renew":
      case "body:release": {
        const op = kind === "body:renew" ? "renew" : "release";
        return this.#post(op, r.chance(0.5) ? r.pick(this.#ctx.heldNames) : this.#validName(), this.#tokenBody(op));
      }
      case "name": {
        const name = this.#badName();
        const route = r.pick(["acquire", "renew", "release", "state", "delete", "head"] as const);
        if (route === "state") return { method: "GET", path: `/locks/${name}`, headers: this.#auth() };
        if (route === "delete") return { method: "DELETE", path: `/locks/${name}`, headers: this.#auth() };
        if (route === "head") return { method: "HEAD", path: `/locks/${name}`, headers: this.#auth() };
        return this.#post(route, name, route === "acquire" ? this.#someAcquireBody() : this.#tokenBody(route));
      }
      case "idempotency-key": {
        const c = this.#post("acquire", this.#validName(), this.#someAcquireBody());
        c.headers["idempotency-key"] = this.#badIdempotencyKey();
        return c;
      }
      case "authorization": {
        const c = this.#anyRequest();
        c.headers.authorization = this.#badAuthorization();
        return c;
      }
      case "unauthenticated": {
        const c = this.#anyRequest();
        delete c.headers.authorization;
        return c;
      }
      case "size":
        return this.#oversized();
      case "method":
        return this.#wrongMethod();
      case "query":
        return this.#badQuery();
      case "content-type":
        return this.#wrongContentType();
      default:
        return this.#nonUtf8();
    }
  }

  // --- pieces -----------------------------------------------------------------------------

  #auth(): Record<string, string> {
    return { authorization: `Bearer ${this.#ctx.jwt}` };
  }

  #post(op: Op, name: string, body: { text?: string; bytes?: Buffer }, contentType: string | undefined = JSON_CT): Omit<FuzzCase, "index" | "kind"> {
    const headers: Record<string, string | string[]> = this.#auth();
    if (contentType !== undefined) headers["content-type"] = contentType;
    const bytes = body.bytes ?? (body.text === undefined ? undefined : Buffer.from(body.text, "utf8"));
    return { method: "POST", path: `/locks/${name}/${op}`, headers, body: bytes, chunked: bytes !== undefined && this.#rng.chance(0.1) };
  }

  #validName(): string {
    const r = this.#rng;
    const label = () => r.string(LOWER, 1) + (r.chance(0.7) ? r.string(`${LOWER}${DIGITS}-`, r.int(0, 14)) + r.string(`${LOWER}${DIGITS}`, 1) : "");
    return r.chance(0.8) ? `fz-${label()}` : `${label()}.${label()}`;
  }

  #badName(): string {
    const r = this.#rng;
    const valid = this.#validName();
    const insert = (s: string, piece: string) => {
      const at = r.int(0, s.length);
      return s.slice(0, at) + piece + s.slice(at);
    };
    return r.weighted<() => string>([
      [3, () => insert(valid, r.pick(["_", "~", "!", "$", "&", "'", "(", ")", "*", "+", ",", ";", "=", ":", "@", "A", "Z", "Q", '"', "<", ">", "{", "}", "|", "^", "`"]))],
      [3, () => insert(valid, r.pick(["%20", "%2F", "%2f", "%5C", "%3F", "%23", "%25", "%00", "%0A", "%0D", "%09", "%7F", "%C3%A9", "%E4%B8%AD", "%F0%9F%94%92", "%EF%BD%81", "%D0%B0", "%E2%80%8B", "%E2%80%AE", "%CC%81", "%5F", "%41", "%2E%2E"]))],
      [2, () => valid.toUpperCase()],
      [2, () => (r.chance(0.5) ? "a".repeat(r.int(254, 400)) : Array.from({ length: r.int(5, 9) }, () => "x".repeat(r.int(40, 63))).join("."))],
      [2, () => (r.chance(0.5) ? r.pick(["-", "."]) + valid : valid + r.pick(["-", "."]))],
      [2, () => r.pick(["..", ".", "a..b", "...", "a.-b", "a-.b", "-", "a.", ".a", "..a", "a..", "-a-", ".-."])],
      [2, () => insert(valid, r.pick(["%", "%Z", "%ZZ", "%C3", "%E2%82", "%FF", "%80", "%C0%AF", "%ED%A0%80", "%%", "%2"]))],
      [1, () => [...insert(valid, r.pick(["_", "A", " ", "/"]))].map((ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, "0").toUpperCase()}`).join("")],
      [1, () => r.pick(["x/..", "..%2F..", "%2e%2e", "%2E", ".%2e", "a/../B", "./Caps", "%2e%2e%2fhealthz"])],
      [1, () => ""],
    ])();
  }

  #forgedToken(): string {
    const r = this.#rng;
    return `lg2.${r.int(1, 999999)}.${r.string(B64URL, 43)}.${r.string(B64URL, r.pick([4, 8, 20]))}.${r.string(B64URL, 43)}`;
  }

  #tokenValue(): unknown {
    const r = this.#rng;
    return r.weighted<() => unknown>([
      [4, () => this.#forgedToken()],
      [6, () =>
        r.pick([
          "",
          "lg2",
          "lg2.",
          "lg2.1",
          "lg2.1.a",
          "lg2.1.a.b",
          "lg2.1.a.b.c.d",
          "lg1.1.a.b",
          `lg1.1.${"a".repeat(43)}.${"b".repeat(43)}`,
          "LG2.1.a.b.c",
          `lg2.-1.${"a".repeat(43)}.aaaa.${"b".repeat(43)}`,
          `lg2.1e3.${"a".repeat(43)}.aaaa.${"b".repeat(43)}`,
          `lg2.${"9".repeat(25)}.${"a".repeat(43)}.aaaa.${"b".repeat(43)}`,
          `lg2.1.${"a".repeat(42)}+.aaaa.${"b".repeat(43)}`,
          `lg2.1.${"a".repeat(43)}.aa=.${"b".repeat(43)}`,
          `lg2.1.${"a".repeat(43)}.ä.${"b".repeat(43)}`,
          ` lg2.1.${"a".repeat(43)}.aaaa.${"b".repeat(43)}`,
          `lg2.1.${"a".repeat(43)}.aaaa.${"b".repeat(43)}\n`,
          "......",
          `lg2.1.${"a".repeat(43)}.${"c".repeat(3000)}.${"b".repeat(43)}`,
          `lg2.1.${"a".repeat(43)}.a.${"b".repeat(43)}`,
        ])],
      [3, () => r.pick([null, 1, true, [], {}, [this.#forgedToken()], { token: this.#forgedToken() }, 1e308])],
    ])();
  }

  #tokenBody(op: Op): { text?: string; bytes?: Buffer } {
    const r = this.#rng;
    if (r.chance(0.25)) return this.#badJsonText(JSON.stringify({ token: this.#forgedToken() }));
    const body: Record<string, unknown> = {};
    if (r.chance(0.9)) body.token = this.#tokenValue();
    if (op === "renew" && r.chance(0.4)) body.ttlSeconds = r.pick([30, 0, -1, 1.5, "30", null, 1e308, 9007199254740992]);
    if (r.chance(0.2)) body[r.pick(["extra", "holder", "Token", "__proto__", "", "token "])] = r.pick(["x", 1, {}, null]);
    if (r.chance(0.1)) return { text: r.pick(["[]", "null", JSON.stringify(this.#forgedToken()), "1", "true"]) };
    return { text: JSON.stringify(body) };
  }

  /** A body that may or may not be valid for acquire (the oracle decides); for other defects. */
  #someAcquireBody(): { text?: string; bytes?: Buffer } {
    const r = this.#rng;
    return r.chance(0.5) ? { text: JSON.stringify(this.#validAcquireObject()) } : this.#badAcquireBody();
  }

  #validAcquireObject(): Record<string, unknown> {
    const r = this.#rng;
    const body: Record<string, unknown> = {};
    if (r.chance(0.5)) body.holder = r.string(`${LOWER}-`, r.int(1, 20));
    if (r.chance(0.6)) body.ttlSeconds = r.int(1, 3600);
    if (r.chance(0.3)) body.metadata = { commit: r.string(DIGITS, 7) };
    return body;
  }

  #badAcquireBody(): { text?: string; bytes?: Buffer } {
    const r = this.#rng;
    const strategy = r.weighted<string>([
      [5, "fields"],
      [3, "syntax"],
      [1, "top-level"],
      [1, "deep"],
      [1, "duplicate"],
      [1, "empty"],
    ]);
    switch (strategy) {
      case "syntax":
        return this.#badJsonText(JSON.stringify(this.#validAcquireObject()));
      case "top-level":
        return { text: r.pick(["[]", "[{}]", '"holder"', "1", "true", "null", "0", '""', "[null]"]) };
      case "deep": {
        const depth = r.int(10, 3000);
        return r.chance(0.5)
          ? { text: `${"[".repeat(depth)}${"]".repeat(depth)}` }
          : { text: `{"metadata":{"k":${'{"k":'.repeat(depth)}"v"${"}".repeat(depth)}}}` };
      }
      case "duplicate":
        return { text: r.pick(['{"ttlSeconds":5,"ttlSeconds":"x"}', '{"holder":"a","holder":1}', '{"metadata":{},"metadata":[]}', '{"ttlSeconds":10,"ttlSeconds":0}']) };
      case "empty":
        return { text: r.pick(["", " ", "\n", "\t\r\n ", "\uFEFF"]) };
      default: {
        const body = this.#validAcquireObject();
        const defects = r.int(1, 3);
        for (let i = 0; i < defects; i++) this.#breakField(body);
        return { text: this.#stringifyWithLiterals(body) };
      }
    }
  }

  /** Values that JSON.stringify cannot write (1e999, -0, lone surrogates) go in as raw literals. */
  #stringifyWithLiterals(body: Record<string, unknown>): string {
    let text = JSON.stringify(body, (_k, v: unknown) => (v instanceof RawLiteral ? `\u0000RAW${v.text}\u0000` : v));
    text = text.replace(/"\\u0000RAW(.*?)\\u0000"/g, (_m, raw: string) => raw.replace(/\\"/g, '"').replace(/\\\\/g, "\\"));
    return text;
  }

  #breakField(body: Record<string, unknown>): void {
    const r = this.#rng;
    const field = r.pick(["ttlSeconds", "holder", "metadata", "extra"] as const);
    if (field === "ttlSeconds") {
      body.ttlSeconds = r.pick<unknown>([
        0, -1, 1.5, 0.5, 1e-7, 9007199254740992, 1e16, 1e308, -1e308, "30", "", true, null, [], {}, [30], { value: 30 },
        new RawLiteral("1e999"), new RawLiteral("-0"), new RawLiteral("-1e999"), new RawLiteral("2.5e0"), new RawLiteral("1E400"),
      ]);
    } else if (field === "holder") {
      body.holder = r.pick<unknown>([
        "", "x".repeat(r.int(129, 400)), 1, true, null, [], {}, ["ci"],
        new RawLiteral('"\\ud800"'), new RawLiteral('"ci-\\udc00-1"'), new RawLiteral('"\\ud83d"'),
      ]);
    } else if (field === "metadata") {
      body.metadata = r.pick<() => unknown>([
        () => [],
        () => "commit=abc",
        () => 1,
        () => null,
        () => ({ k: 1 }),
        () => ({ k: null }),
        () => ({ k: { nested: "v" } }),
        () => ({ k: ["v"] }),
        () => ({ "": "v" }),
        () => ({ "bad key": "v" }),
        () => ({ "k/x": "v" }),
        () => ({ "ü": "v" }),
        () => ({ [`k${"x".repeat(63)}`]: "v" }),
        () => ({ a: "x".repeat(r.int(4100, 15000)) }),
        () => Object.fromEntries(Array.from({ length: r.int(150, 400) }, (_, i) => [`key-${i}`, "v".repeat(20)])),
        () => ({ __proto__x: "v", "k\u0000": "v" }),
      ])();
    } else {
      body[r.pick(["extra", "token", "Holder", "ttl", "ttl_seconds", "__proto__", "constructor", "prototype", "", " ", "holder ", "metadata\u0000", "TTLSECONDS"])] = r.pick<unknown>([
        1, "x", null, {}, [], { polluted: true },
      ]);
    }
  }

  #badJsonText(valid: string): { text: string } {
    const r = this.#rng;
    const mutate = r.pick<(s: string) => string>([
      (s) => s.slice(0, r.int(0, Math.max(0, s.length - 1))),
      (s) => {
        const at = r.int(0, s.length);
        return s.slice(0, at) + r.pick(["{", "}", "[", "]", '"', ",", ":", "\\", "'", "\u0001", "\u0000", "x", "\n"]) + s.slice(at);
      },
      (s) => {
        const at = r.int(0, Math.max(0, s.length - 1));
        return s.slice(0, at) + s.slice(at + 1);
      },
      (s) => s.replace(/}$/, ",}"),
      (s) => s.replace(/"/g, "'"),
      (s) => s.replace(/"([A-Za-z]+)":/g, "$1:"),
      (s) => `/* comment */${s}`,
      (s) => `${s}${r.pick(["x", "}", "{}", ",", " null"])}`,
      (s) => `\uFEFF${s.slice(0, -1)}`,
      () => r.pick(["undefined", "NaN", "Infinity", "{ttlSeconds: 0x10}", '{"ttlSeconds": 007}', '{"ttlSeconds": +5}', '{"holder": "a\u0001b"}', "{'holder':'x'}", "{", "[", '"', "tru", "nul", "{}}", "{]"]),
    ]);
    return { text: mutate(valid) };
  }

  #badIdempotencyKey(): string | string[] {
    const r = this.#rng;
    return r.pick<string | string[]>([
      "",
      " ",
      "a b",
      "a\tb",
      "caf\u00e9",
      "\u00ff\u00fe",
      "k\u0080",
      "x".repeat(r.int(256, 600)),
      ["retry-1", "retry-2"],
      `${"k".repeat(120)} ${"k".repeat(120)}`,
    ]);
  }

  #badAuthorization(): string {
    const r = this.#rng;
    const jwt = this.#ctx.jwt;
    const [h, p, s] = jwt.split(".") as [string, string, string];
    const flip = (seg: string) => {
      const at = r.int(0, seg.length - 2); // never the last character of a segment
      const ch = seg[at] === "A" ? "B" : "A";
      return seg.slice(0, at) + ch + seg.slice(at + 1);
    };
    return r.pick<() => string>([
      () => "",
      () => "Bearer",
      () => `Bearer ${jwt}=`,
      () => `Bearer ${jwt}==`,
      () => `Basic ${Buffer.from("user:password").toString("base64")}`,
      () => `Token ${jwt}`,
      () => jwt,
      () => `Bearer ${flip(h)}.${p}.${s}`,
      () => `Bearer ${h}.${flip(p)}.${s}`,
      () => `Bearer ${h}.${p}.${flip(s)}`,
      () => `Bearer ${h}.${p}`,
      () => `Bearer ${h}.${p}.`,
      () => `Bearer ${jwt.slice(0, r.int(1, jwt.length - 1))}`,
      () => `Bearer ${jwt}.${jwt}`,
      () => `Bearer ${jwt} x`,
      () => `Bearer ${r.string(B64URL, r.int(1, 200))}`,
      () => `Bearer ${r.string(`${B64URL}.`, r.int(1, 12000))}`,
      () => `Bearer \u00e9\u00ff${r.string(B64URL, 10)}`,
      () => `Bearer ${jwt}\u00a0`,
      () => r.string(" !#$%&'()*+,-./:;<=>?@[]^_`{|}~abcXYZ019", r.int(1, 100)),
    ])();
  }

  /** Any lock request, valid or not apart from what the caller then breaks. */
  #anyRequest(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const choice = r.int(0, 5);
    const name = r.chance(0.8) ? this.#validName() : this.#badName();
    if (choice === 0) return { method: "GET", path: `/locks/${name}`, headers: this.#auth() };
    if (choice === 1) return { method: "DELETE", path: `/locks/${name}`, headers: this.#auth() };
    if (choice === 2) return { method: "GET", path: `/locks?limit=${r.int(1, 500)}`, headers: this.#auth() };
    if (choice === 3) return this.#post("acquire", name, { text: JSON.stringify(this.#validAcquireObject()) });
    const op = r.pick(["renew", "release"] as const);
    return this.#post(op, r.pick(this.#ctx.heldNames), { text: JSON.stringify({ token: this.#forgedToken() }) });
  }

  #oversized(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const size = r.chance(0.2) ? r.int(4097, MAX_BODY_BYTES) : r.int(MAX_BODY_BYTES + 1, 300 * 1024);
    const op = r.pick(["acquire", "acquire", "renew", "release"] as const);
    let bytes: Buffer;
    if (r.chance(0.5)) {
      const filler = Math.max(0, size - 40);
      bytes = Buffer.from(JSON.stringify({ holder: "ci", metadata: { blob: "x".repeat(filler) } }), "utf8");
    } else if (r.chance(0.5)) {
      bytes = r.bytes(size);
    } else {
      bytes = Buffer.from(JSON.stringify({ token: this.#forgedToken(), padding: "p".repeat(size) }), "utf8");
    }
    const c = this.#post(op, r.chance(0.5) ? r.pick(this.#ctx.heldNames) : this.#validName(), { bytes });
    c.chunked = r.chance(0.3);
    c.ownConnection = bytes.length > MAX_BODY_BYTES;
    return c;
  }

  #wrongMethod(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const method = r.pick(["PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "GET", "POST", "TRACE", "PROPFIND", "MKCOL", "COPY", "MOVE", "LOCK", "UNLOCK", "SEARCH", "PURGE", "REPORT"]);
    const name = r.chance(0.7) ? r.pick([...this.#ctx.heldNames, this.#validName()]) : this.#badName();
    const path = r.pick([
      `/locks/${name}/acquire`,
      `/locks/${name}/renew`,
      `/locks/${name}/release`,
      `/locks/${name}`,
      `/locks`,
      `/locks/${name}/acquire/extra`,
      `/locks/${name}/${r.pick(["ACQUIRE", "grab", "release.json", ""])}`,
    ]);
    const headers: Record<string, string> = { ...this.#auth(), "content-type": JSON_CT };
    if (r.chance(0.2)) headers["x-http-method-override"] = r.pick(["DELETE", "POST", "PUT"]);
    const body = method === "GET" || method === "HEAD" || r.chance(0.5) ? undefined : Buffer.from(JSON.stringify({ token: this.#forgedToken(), ttlSeconds: 30 }));
    return { method, path, headers, body };
  }

  #badQuery(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const enc = (v: string) => (r.chance(0.8) ? encodeURIComponent(v) : v.replace(/[^\x21-\x7e]/g, (ch) => encodeURIComponent(ch)).replace(/[#]/g, "%23"));
    const continueGarbage = () =>
      r.pick<() => string>([
        () => r.string(B64URL, r.int(1, 200)),
        () => r.string(`${B64URL}+/=`, r.int(1, 200)),
        () => r.string("!@$^*()[]{}|;:,<>~ éü中", r.int(1, 40)),
        () => "x".repeat(r.int(4097, 5000)),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 0, start: "x" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v2", rv: 5, start: "x" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 5, start: "" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 5, start: "../../secrets/x" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: "5", start: "x" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 1.5, start: "x" })).toString("base64url"),
        () => Buffer.from(JSON.stringify({ v: "meta.k8s.io/v1", rv: 1e30, start: "x" })).toString("base64url"),
        () => Buffer.from("not json").toString("base64url"),
        () => Buffer.from(JSON.stringify([1, 2, 3])).toString("base64url"),
      ])();
    const bad: Array<() => string> = [
      () => `limit=${enc(r.pick(["", "0", "-1", "501", "1000", "1.5", "abc", "1e400", "Infinity", "-Infinity", "NaN", "0x", "9007199254740993", "1,2", "\u0661\u0660", "1 0", "true", "[]", "null"]))}`,
      () => `limit=${r.pick(["%FF", "%00", "%", "%ZZ", "10%20x"])}`,
      () => `prefix=${enc(r.pick(["ABC", "a_b", "a/b", "é", "a b", "*", "x".repeat(r.int(254, 300)), "\u0000", "a\nb", "deploy?", "../"]))}`,
      () => `continue=${enc(continueGarbage())}`,
      () => `limit=${r.int(1, 500)}&limit=${r.int(1, 500)}`,
      () => `prefix=a&prefix=b`,
      () => `continue=${enc(continueGarbage())}&continue=${enc(continueGarbage())}`,
    ];
    const filler: Array<() => string> = [
      () => `limit=${r.pick(["1", "50", "500", "0x10", "1e2", "+5", "5.0"])}`,
      () => `prefix=${r.pick(["", "fz-", "a.b", "held"])}`,
      () => `foo=${enc(r.string("abc&=?", 5))}`,
      () => "limit[]=5",
      () => "continue=",
      () => "%ZZ=1",
    ];
    const parts = [r.pick(bad)()];
    for (let i = r.int(0, 2); i > 0; i--) parts.push(r.chance(0.3) ? r.pick(bad)() : r.pick(filler)());
    for (let i = parts.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [parts[i], parts[j]] = [parts[j]!, parts[i]!];
    }
    return { method: r.chance(0.9) ? "GET" : "HEAD", path: `/locks?${parts.join("&")}`, headers: this.#auth() };
  }

  #wrongContentType(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const op = r.pick(["acquire", "acquire", "renew", "release"] as const);
    const contentType = r.pick<string | undefined>([
      undefined,
      "",
      "text/plain",
      "text/plain; charset=utf-8",
      "application/x-www-form-urlencoded",
      "multipart/form-data; boundary=x",
      "application/xml",
      "application/jsonx",
      "application/json-seq",
      "application/json, text/plain",
      "json",
      "*/*",
      "application/",
      "application/json;",
      "application/octet-stream",
      "text/json",
      "application/json; charset",
      "application/ json",
      "application/json\u00e9",
    ]);
    const text = r.weighted<() => string>([
      [4, () => JSON.stringify(op === "acquire" ? this.#validAcquireObject() : { token: this.#forgedToken() })],
      [1, () => "holder=ci&ttlSeconds=30"],
      [1, () => "--x\r\nContent-Disposition: form-data; name=\"holder\"\r\n\r\nci\r\n--x--\r\n"],
      [1, () => "<acquire><ttlSeconds>30</ttlSeconds></acquire>"],
    ])();
    const name = op === "acquire" ? this.#validName() : r.pick(this.#ctx.heldNames);
    return this.#post(op, name, { text }, contentType);
  }

  #nonUtf8(): Omit<FuzzCase, "index" | "kind"> {
    const r = this.#rng;
    const op = r.pick(["acquire", "acquire", "acquire", "renew", "release"] as const);
    const invalid = r.pick([
      [0xff],
      [0xfe, 0xff],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xed, 0xa0, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80],
      [0xbf, 0xbf],
      [0xe2, 0x82],
      [0xc3],
      [0xf0, 0x9f, 0x94],
    ]);
    const template = op === "acquire" ? { holder: "ci-X", metadata: { note: "X" } } : { token: "X" };
    const text = JSON.stringify(template);
    const marker = r.chance(0.5) ? text.indexOf("X") : text.lastIndexOf("X");
    const bytes = Buffer.concat([Buffer.from(text.slice(0, marker), "utf8"), Buffer.from(invalid), Buffer.from(text.slice(marker + 1), "utf8")]);
    const name = op === "acquire" ? this.#validName() : r.pick(this.#ctx.heldNames);
    return this.#post(op, name, { bytes });
  }
}

class RawLiteral {
  readonly text: string;
  constructor(text: string) {
    this.text = text;
  }
}
