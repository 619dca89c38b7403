var __defProp = Object.defineProperty;
var __getOwnPropNames = Object.getOwnPropertyNames;
var __esm = (fn, res, err) => function __init() {
  if (err) throw err[0];
  try {
    return fn && (res = (0, fn[__getOwnPropNames(fn)[0]])(fn = 0)), res;
  } catch (e) {
    throw err = [e], e;
  }
};
var __export = (target, all) => {
  for (var name in all)
    __defProp(target, name, { get: all[name], enumerable: true });
};

// src/locks/lock-name.ts
function lockNameProblem(name) {
  if (name.length === 0) return "must not be empty";
  if (name.length > 253) return "must be at most 253 characters";
  if (/[^a-z0-9.-]/.test(name)) return "may contain only lower-case letters, digits, '-' and '.'";
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) return "must start and end with a letter or digit";
  for (const label of name.split(".")) {
    if (!LABEL.test(label)) return "each '.'-separated part must be non-empty and start and end with a letter or digit";
  }
  return null;
}
var LABEL;
var init_lock_name = __esm({
  "src/locks/lock-name.ts"() {
    "use strict";
    LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
  }
});

// src/cli/exit-codes.ts
import { constants } from "node:os";
function signalExitCode(signal) {
  return 128 + (constants.signals[signal] ?? 0);
}
var ExitCode;
var init_exit_codes = __esm({
  "src/cli/exit-codes.ts"() {
    "use strict";
    ExitCode = {
      /** Success. */
      ok: 0,
      /** An unexpected error: a gateway answer the CLI cannot use (500, 502 backend_*), or a bug. */
      internal: 70,
      /** The lock was held by someone else for the whole of --wait (also lock_contended to the end). */
      notAcquired: 71,
      /** The lock was lost: taken over, force-released, or not renewed before it expired. */
      lockLost: 72,
      /** The gateway (or the CI's token endpoint) was unreachable, timed out, or answered 503. */
      unavailable: 73,
      /** Usage, configuration or authorization error: bad arguments, no URL, a redirect, no or refused credentials. */
      usage: 74
    };
  }
});

// src/cli/errors.ts
var CliError, usageError, configError;
var init_errors = __esm({
  "src/cli/errors.ts"() {
    "use strict";
    init_exit_codes();
    CliError = class extends Error {
      exitCode;
      /** Suggest `--help` for this subcommand after the message. */
      showUsage;
      constructor(exitCode, message, options = {}) {
        super(message, { cause: options.cause });
        this.name = "CliError";
        this.exitCode = exitCode;
        this.showUsage = options.showUsage ?? false;
      }
    };
    usageError = (message) => new CliError(ExitCode.usage, message, { showUsage: true });
    configError = (message) => new CliError(ExitCode.usage, message);
  }
});

// src/cli/args.ts
import { parseArgs } from "node:util";
function isCommand(name) {
  return COMMANDS.includes(name);
}
function parseInvocation(argv) {
  const dashDash = argv.indexOf("--");
  const before = dashDash === -1 ? argv : argv.slice(0, dashDash);
  const after = dashDash === -1 ? void 0 : argv.slice(dashDash + 1);
  let commandIndex = -1;
  let wantsHelp = false;
  for (let i = 0; i < before.length; i++) {
    const arg = before[i];
    if (arg === "--help" || arg === "-h") {
      wantsHelp = true;
      continue;
    }
    if (arg === "--version" || arg === "-V") return { kind: "version" };
    if (arg.startsWith("-")) {
      const name2 = arg.replace(/^--?/, "");
      if (!arg.includes("=") && GLOBAL_OPTIONS[name2]?.type === "string") i++;
      continue;
    }
    commandIndex = i;
    break;
  }
  if (commandIndex === -1) {
    if (wantsHelp || before.length === 0) return { kind: "help" };
    throw usageError("no subcommand given");
  }
  const name = before[commandIndex];
  const rest = [...before.slice(0, commandIndex), ...before.slice(commandIndex + 1)];
  if (name === "help") {
    const topic = rest.find((a) => !a.startsWith("-"));
    if (topic === void 0) return { kind: "help" };
    if (!isCommand(topic)) throw usageError(`unknown subcommand "${topic}"`);
    return { kind: "help", command: topic };
  }
  if (!isCommand(name)) throw usageError(`unknown subcommand "${name}"`);
  if (wantsHelp) return { kind: "help", command: name };
  let parsed;
  try {
    parsed = parseArgs({
      args: rest,
      options: { ...GLOBAL_OPTIONS, ...COMMAND_OPTIONS[name] },
      allowPositionals: true,
      strict: true
    });
  } catch (err) {
    throw usageError(`${name}: ${err.message.split("\n")[0].replace(/\.$/, "")}`);
  }
  if (parsed.values.help) return { kind: "help", command: name };
  let commandLine = [];
  if (name === "run") {
    if (after !== void 0) {
      if (parsed.positionals.length > 1) throw usageError(`run: unexpected argument "${parsed.positionals[1]}" before "--"`);
      commandLine = after;
    } else {
      commandLine = parsed.positionals.slice(1);
    }
    parsed.positionals = parsed.positionals.slice(0, 1);
  } else if (after !== void 0) {
    throw usageError(`${name}: "--" is only meaningful for run`);
  }
  return { kind: "command", command: name, values: parsed.values, positionals: parsed.positionals, commandLine };
}
function stringOption(values, name) {
  const value = values[name];
  return typeof value === "string" ? value : void 0;
}
function lockArgument(command2, positionals) {
  const [lock2, extra] = positionals;
  if (lock2 === void 0) throw usageError(`${command2}: missing <lock>`);
  if (extra !== void 0) throw usageError(`${command2}: unexpected argument "${extra}"`);
  const problem = lockNameProblem(lock2);
  if (problem) throw usageError(`${command2}: lock name "${lock2}" ${problem}`);
  return lock2;
}
var COMMANDS, GLOBAL_OPTIONS, ttl, wait, holder, json, lockToken, idempotencyKey, COMMAND_OPTIONS;
var init_args = __esm({
  "src/cli/args.ts"() {
    "use strict";
    init_lock_name();
    init_errors();
    COMMANDS = ["run", "acquire", "renew", "release", "status", "list"];
    GLOBAL_OPTIONS = {
      url: { type: "string" },
      token: { type: "string" },
      audience: { type: "string" },
      "gitlab-id-token-var": { type: "string" },
      help: { type: "boolean", short: "h" }
    };
    ttl = { type: "string" };
    wait = { type: "string" };
    holder = { type: "string" };
    json = { type: "boolean" };
    lockToken = { type: "string" };
    idempotencyKey = { type: "string" };
    COMMAND_OPTIONS = {
      run: { ttl, wait, holder, grace: { type: "string" }, "idempotency-key": idempotencyKey },
      acquire: { ttl, wait, holder, "idempotency-key": idempotencyKey, json },
      renew: { "lock-token": lockToken, ttl, json },
      release: { "lock-token": lockToken, json },
      status: { json },
      list: { prefix: { type: "string" }, json }
    };
  }
});

// src/encoding/printable-text.ts
var UNPRINTABLE_CHARACTERS, UNPRINTABLE;
var init_printable_text = __esm({
  "src/encoding/printable-text.ts"() {
    "use strict";
    UNPRINTABLE_CHARACTERS = "\\u0000-\\u001F\\u007F-\\u009F\\u061C\\u200E\\u200F\\u202A-\\u202E\\u2066-\\u2069";
    UNPRINTABLE = new RegExp(`[${UNPRINTABLE_CHARACTERS}]`, "u");
  }
});

// src/client/display-text.ts
function displayText(value) {
  return String(value).replace(ESCAPED, (character) => visibleEscape(character.codePointAt(0))).replace(MARKER_COMMAND, "\\x23").replace(LEADING_COMMAND, "$1\\x3a");
}
function displayJson(value) {
  return (JSON.stringify(value, null, 2) ?? "null").replace(
    ESCAPED,
    (character) => (
      // JSON.stringify escapes every C0 control in strings: a raw line feed is its own layout.
      character === "\n" ? character : `\\u${character.codePointAt(0).toString(16).padStart(4, "0")}`
    )
  ).replace(MARKER_COMMAND, "\\u0023");
}
function visibleEscape(codePoint) {
  return codePoint <= 255 ? `\\x${codePoint.toString(16).padStart(2, "0")}` : `\\u{${codePoint.toString(16)}}`;
}
var ESCAPED, MARKER_COMMAND, LEADING_COMMAND;
var init_display_text = __esm({
  "src/client/display-text.ts"() {
    "use strict";
    init_printable_text();
    ESCAPED = new RegExp(`[${UNPRINTABLE_CHARACTERS}\\u2028\\u2029]`, "gu");
    MARKER_COMMAND = /#(?=#(?:\[|vso\[))/giu;
    LEADING_COMMAND = /^(\s*):(?=:)/u;
  }
});

// src/cli/version.ts
import { readFileSync } from "node:fs";
var CLI_VERSION;
var init_version = __esm({
  "src/cli/version.ts"() {
    "use strict";
    CLI_VERSION = (() => {
      try {
        return JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version ?? "0.0.0";
      } catch {
        return "0.0.0";
      }
    })();
  }
});

// src/cli/child.ts
import { spawn } from "node:child_process";
function childExitCode(end) {
  switch (end.kind) {
    case "exited":
      return end.code;
    case "signaled":
      return signalExitCode(end.signal);
    case "spawn-failed":
      return end.error.code === "ENOENT" ? 127 : 126;
  }
}
var Child;
var init_child = __esm({
  "src/cli/child.ts"() {
    "use strict";
    init_exit_codes();
    Child = class {
      process;
      ended;
      #end;
      #killTimer;
      constructor(commandLine, env) {
        this.process = spawn(commandLine[0], commandLine.slice(1), { stdio: "inherit", env });
        this.ended = new Promise((resolve) => {
          this.process.once("error", (error) => {
            if (this.process.pid === void 0) this.#finish({ kind: "spawn-failed", error }, resolve);
          });
          this.process.once("exit", (code, signal) => {
            this.#finish(signal ? { kind: "signaled", signal } : { kind: "exited", code: code ?? 0 }, resolve);
          });
        });
      }
      get running() {
        return this.#end === void 0;
      }
      signal(signal) {
        if (!this.running) return;
        try {
          this.process.kill(signal);
        } catch {
        }
      }
      /** SIGTERM now, SIGKILL after `graceMs` if it is still running. */
      terminate(graceMs) {
        this.signal("SIGTERM");
        if (this.#killTimer) return;
        this.#killTimer = setTimeout(() => this.signal("SIGKILL"), graceMs);
      }
      #finish(end, resolve) {
        if (this.#end) return;
        this.#end = end;
        clearTimeout(this.#killTimer);
        resolve(end);
      }
    };
  }
});

// src/encoding/base64url.ts
function isCanonicalBase64url(text3) {
  if (!/^[A-Za-z0-9_-]*$/.test(text3)) return false;
  const last = text3.at(-1) ?? "";
  switch (text3.length % 4) {
    case 1:
      return false;
    case 2:
      return "AQgw".includes(last);
    case 3:
      return "AEIMQUYcgkosw048".includes(last);
    default:
      return true;
  }
}
var init_base64url = __esm({
  "src/encoding/base64url.ts"() {
    "use strict";
  }
});

// src/locks/queue-ticket.ts
var TICKET_PATTERN;
var init_queue_ticket = __esm({
  "src/locks/queue-ticket.ts"() {
    "use strict";
    init_base64url();
    TICKET_PATTERN = /^lgq1\.[A-Za-z0-9_-]{43}$/;
  }
});

// src/client/errors.ts
function text(value) {
  return typeof value === "string" && value !== "" ? value : void 0;
}
function count(value, min) {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : void 0;
}
var PROBLEM_TYPE_PREFIX, LeasegateError, InvalidRequestError, UnauthorizedError, ForbiddenError, NotFoundError, LockNotFoundError, LockHeldError, LockLostError, LockContendedError, LeaseNotManagedError, UnavailableError, GatewayUnreachableError, InvalidResponseError, RedirectRefusedError, CredentialsError;
var init_errors2 = __esm({
  "src/client/errors.ts"() {
    "use strict";
    init_queue_ticket();
    PROBLEM_TYPE_PREFIX = "urn:leasegate:problem:";
    LeasegateError = class extends Error {
      name = "LeasegateError";
      status;
      code;
      problem;
      retryAfterMs;
      constructor(message, details = {}) {
        super(message, details.cause === void 0 ? void 0 : { cause: details.cause });
        this.status = details.status;
        this.code = details.code ?? (details.status === void 0 ? "error" : `http_${details.status}`);
        this.problem = details.problem ?? {};
        this.retryAfterMs = details.retryAfterMs;
      }
      /** The problem's title, as the gateway sent it (raw: escape it before showing it). */
      get title() {
        return text(this.problem.title);
      }
      /** The problem's detail, as the gateway sent it (raw: escape it before showing it). */
      get detail() {
        return text(this.problem.detail);
      }
      /** Whether the answer was the gateway's own problem document (not a proxy's error page). */
      get fromGateway() {
        return typeof this.problem.code === "string" && this.problem.type === PROBLEM_TYPE_PREFIX + this.problem.code;
      }
    };
    InvalidRequestError = class extends LeasegateError {
      name = "InvalidRequestError";
      get errors() {
        const found = this.problem.errors;
        return Array.isArray(found) ? found.filter((e) => typeof e === "object" && e !== null) : [];
      }
    };
    UnauthorizedError = class extends LeasegateError {
      name = "UnauthorizedError";
    };
    ForbiddenError = class extends LeasegateError {
      name = "ForbiddenError";
    };
    NotFoundError = class extends LeasegateError {
      name = "NotFoundError";
    };
    LockNotFoundError = class extends LeasegateError {
      name = "LockNotFoundError";
    };
    LockHeldError = class extends LeasegateError {
      name = "LockHeldError";
      get holder() {
        return text(this.problem.holder);
      }
      get subject() {
        return text(this.problem.subject);
      }
      get holderIdentity() {
        return text(this.problem.holderIdentity);
      }
      /** When the holder's grant ends unless renewed (ISO 8601, as the gateway sent it). */
      get expiresAt() {
        return text(this.problem.expiresAt);
      }
      get position() {
        return count(this.problem.position, 1);
      }
      get waiters() {
        return count(this.problem.waiters, 0);
      }
      get ticket() {
        const ticket = this.problem.ticket;
        return typeof ticket === "string" && TICKET_PATTERN.test(ticket) ? ticket : void 0;
      }
    };
    LockLostError = class extends LeasegateError {
      name = "LockLostError";
    };
    LockContendedError = class extends LeasegateError {
      name = "LockContendedError";
    };
    LeaseNotManagedError = class extends LeasegateError {
      name = "LeaseNotManagedError";
    };
    UnavailableError = class extends LeasegateError {
      name = "UnavailableError";
    };
    GatewayUnreachableError = class extends UnavailableError {
      name = "GatewayUnreachableError";
    };
    InvalidResponseError = class extends LeasegateError {
      name = "InvalidResponseError";
    };
    RedirectRefusedError = class extends InvalidResponseError {
      name = "RedirectRefusedError";
      /** The origin that answered with the redirect (the configured one). */
      origin;
      constructor(origin, status) {
        super(`the gateway at ${origin} answered with a redirect (HTTP ${status}), which leasegate does not follow`, { status, code: "redirect" });
        this.origin = origin;
      }
    };
    CredentialsError = class extends LeasegateError {
      name = "CredentialsError";
      constructor(message, details = {}) {
        super(message, { ...details, code: "credentials" });
      }
    };
  }
});

// src/client/gateway-url.ts
function gatewayBaseUrl(raw) {
  let url2;
  try {
    url2 = new URL(raw.trim());
  } catch {
    throw new GatewayUrlError(`gateway URL "${raw}" is not a URL`);
  }
  if (url2.protocol !== "https:" && url2.protocol !== "http:") throw new GatewayUrlError(`gateway URL must be http(s), not ${url2.protocol}`);
  if (url2.protocol === "http:" && !isLoopback(url2.hostname)) {
    throw new GatewayUrlError(`gateway URL must use https:// (plain http:// only for loopback: 127.0.0.0/8, [::1], localhost), not ${url2.origin}`);
  }
  if (url2.username || url2.password) throw new GatewayUrlError("gateway URL must not contain credentials");
  if (url2.search || url2.hash) throw new GatewayUrlError("gateway URL must not have a query or fragment");
  return url2.toString().replace(/\/+$/, "");
}
function isLoopback(hostname2) {
  return hostname2 === "localhost" || hostname2 === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname2);
}
var GatewayUrlError;
var init_gateway_url = __esm({
  "src/client/gateway-url.ts"() {
    "use strict";
    init_errors2();
    GatewayUrlError = class extends LeasegateError {
      name = "GatewayUrlError";
      constructor(message) {
        super(message, { code: "invalid_url" });
      }
    };
  }
});

// src/client/bounded-body.ts
async function boundedText(response, maxBytes = MAX_ANSWER_BYTES) {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks = [];
  let length = 0;
  for (; ; ) {
    const { done, value } = await reader.read();
    if (done) break;
    length += value.byteLength;
    if (length > maxBytes) {
      await reader.cancel().catch(() => {
      });
      return void 0;
    }
    chunks.push(value);
  }
  const bytes = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}
var MAX_ANSWER_BYTES;
var init_bounded_body = __esm({
  "src/client/bounded-body.ts"() {
    "use strict";
    MAX_ANSWER_BYTES = 1 << 20;
  }
});

// src/client/error-from-answer.ts
function errorFromAnswer(status, body, retryAfterMs2) {
  const problem = body !== null && typeof body === "object" && !Array.isArray(body) ? body : {};
  const own = typeof problem.code === "string" && problem.type === PROBLEM_TYPE_PREFIX + problem.code;
  const code = own ? problem.code : `http_${status}`;
  const Class = (own ? BY_CODE[code] : BY_STATUS[status]) ?? LeasegateError;
  const said = typeof problem.detail === "string" ? problem.detail : typeof problem.title === "string" ? problem.title : void 0;
  let message = `${displayText(code)}${said ? `: ${displayText(said)}` : ""} (HTTP ${status})`;
  if (Class === LockHeldError) message += heldBy(problem);
  if (Class === InvalidRequestError) message += ruleViolations(problem);
  message += HINTS.get(Class) ?? "";
  return new Class(message, { status, code, problem, retryAfterMs: retryAfterMs2 });
}
function heldBy(problem) {
  const held = new LockHeldError("", { problem });
  const who = held.holder && held.subject ? `${held.holder} (${held.subject})` : held.holder ?? held.subject ?? held.holderIdentity;
  let text3 = who ? `; held by ${displayText(who)}${held.expiresAt ? ` until ${displayText(held.expiresAt)}` : ""}` : "";
  if (held.position !== void 0) text3 += `; position ${held.position}${held.waiters !== void 0 ? ` of ${held.waiters}` : ""} in line`;
  return text3;
}
function ruleViolations(problem) {
  const errors = new InvalidRequestError("", { problem }).errors.slice(0, 10);
  const parts = errors.map((e) => `${displayText(e.path ?? "?")} ${displayText(e.message ?? "")}`.trim());
  return parts.length > 0 ? `: ${parts.join("; ")}` : "";
}
var BY_CODE, BY_STATUS, HINTS;
var init_error_from_answer = __esm({
  "src/client/error-from-answer.ts"() {
    "use strict";
    init_display_text();
    init_errors2();
    BY_CODE = {
      invalid_request: InvalidRequestError,
      payload_too_large: InvalidRequestError,
      unsupported_media_type: InvalidRequestError,
      headers_too_large: InvalidRequestError,
      unauthenticated: UnauthorizedError,
      forbidden: ForbiddenError,
      not_found: NotFoundError,
      lock_not_found: LockNotFoundError,
      lock_held: LockHeldError,
      lock_lost: LockLostError,
      not_holder: LockLostError,
      lock_contended: LockContendedError,
      lease_not_managed: LeaseNotManagedError,
      backend_unavailable: UnavailableError
    };
    BY_STATUS = {
      400: InvalidRequestError,
      401: UnauthorizedError,
      403: ForbiddenError,
      404: NotFoundError,
      413: InvalidRequestError,
      415: InvalidRequestError,
      429: UnavailableError,
      431: InvalidRequestError,
      // A proxy's 502 means the gateway is not reachable behind it; the gateway's own 502s
      // (backend_forbidden, backend_invalid) are not transient.
      502: UnavailableError,
      503: UnavailableError,
      504: UnavailableError
    };
    HINTS = /* @__PURE__ */ new Map([
      [UnauthorizedError, "; the gateway did not accept the token (expired, wrong issuer or audience?)"],
      [ForbiddenError, "; the gateway's policy does not allow this for your identity"],
      [NotFoundError, "; is the URL the gateway's base URL?"]
    ]);
  }
});

// src/client/idempotency-key.ts
function checkedIdempotencyKey(key) {
  if (!KEY.test(key)) {
    throw new InvalidRequestError("an Idempotency-Key is 1 to 255 printable ASCII characters without spaces", { code: "invalid_request" });
  }
  return key;
}
var KEY;
var init_idempotency_key = __esm({
  "src/client/idempotency-key.ts"() {
    "use strict";
    init_errors2();
    KEY = /^[\x21-\x7e]{1,255}$/;
  }
});

// src/client/network-cause.ts
function networkCause(err) {
  if (err instanceof DOMException && (err.name === "TimeoutError" || err.name === "AbortError")) return "timed out";
  const cause = err.cause;
  if (cause?.code) return cause.code;
  if (cause?.message) return cause.message;
  return err instanceof Error ? err.message : String(err);
}
var init_network_cause = __esm({
  "src/client/network-cause.ts"() {
    "use strict";
  }
});

// src/client/request-signal.ts
function requestSignal(timeoutMs, caller) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new DOMException("the request timed out", "TimeoutError")), timeoutMs);
  const follow = () => controller.abort(caller?.reason);
  if (caller?.aborted) follow();
  else caller?.addEventListener("abort", follow, { once: true });
  return {
    signal: controller.signal,
    done() {
      clearTimeout(timer);
      caller?.removeEventListener("abort", follow);
    }
  };
}
var init_request_signal = __esm({
  "src/client/request-signal.ts"() {
    "use strict";
  }
});

// src/client/retry-after.ts
function retryAfterMs(header, now = Date.now()) {
  if (!header) return void 0;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1e3;
  const at = Date.parse(header);
  return Number.isNaN(at) ? void 0 : Math.max(0, at - now);
}
var init_retry_after = __esm({
  "src/client/retry-after.ts"() {
    "use strict";
  }
});

// src/client/leasegate-client.ts
function lockPath(name) {
  const problem = lockNameProblem(name);
  if (problem) throw new InvalidRequestError(`lock name "${displayText(name)}" ${problem}`, { code: "invalid_request" });
  return `/locks/${encodeURIComponent(name)}`;
}
function checkedGrant(grant) {
  const usable = typeof grant.token === "string" && grant.token !== "" && typeof grant.fencingToken === "string" && typeof grant.ttlSeconds === "number" && Number.isFinite(grant.ttlSeconds) && grant.ttlSeconds > 0;
  if (!usable) throw new InvalidResponseError("the gateway answered with a grant that lacks its token, fencing token or TTL", { code: "invalid_response" });
  return grant;
}
var DEFAULT_TIMEOUT_MS, LeasegateClient;
var init_leasegate_client = __esm({
  "src/client/leasegate-client.ts"() {
    "use strict";
    init_lock_name();
    init_bounded_body();
    init_display_text();
    init_error_from_answer();
    init_errors2();
    init_gateway_url();
    init_idempotency_key();
    init_network_cause();
    init_request_signal();
    init_retry_after();
    DEFAULT_TIMEOUT_MS = 15e3;
    LeasegateClient = class {
      url;
      credentials;
      #timeoutMs;
      #userAgent;
      #fetch;
      constructor(options) {
        this.url = gatewayBaseUrl(options.url);
        this.credentials = options.credentials;
        this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        this.#userAgent = options.userAgent ?? "leasegate-client";
        this.#fetch = options.fetch ?? ((request) => fetch(request));
      }
      /**
       * One acquire request. With `waitSeconds`, the caller waits in the lock's line: the gateway
       * keeps the request open and answers the moment the lock is granted to it, or LockHeldError
       * (with `position`, `waiters` and the `ticket` that keeps the place, `retryAfterMs` 0) when the
       * wait ends. The request's timeout grows by the wait.
       */
      async acquire(name, body = {}, options = {}) {
        const headers = options.idempotencyKey === void 0 ? void 0 : { "idempotency-key": checkedIdempotencyKey(options.idempotencyKey) };
        const timeoutMs = (options.timeoutMs ?? this.#timeoutMs) + (body.waitSeconds ?? 0) * 1e3;
        return checkedGrant(await this.#request("POST", `${lockPath(name)}/acquire`, { body, headers, timeoutMs, signal: options.signal }));
      }
      /**
       * Gives up a place in the lock's line, named by the `ticket` of the last LockHeldError or by the
       * Idempotency-Key the waiting requests carried (both may be given).
       */
      async leave(name, place, options = {}) {
        if (place.ticket === void 0 && place.idempotencyKey === void 0) {
          throw new InvalidRequestError("name the place to give up: its ticket or its Idempotency-Key", { code: "invalid_request" });
        }
        const headers = place.idempotencyKey === void 0 ? void 0 : { "idempotency-key": checkedIdempotencyKey(place.idempotencyKey) };
        const body = place.ticket === void 0 ? {} : { ticket: place.ticket };
        return this.#request("POST", `${lockPath(name)}/leave`, { body, headers, ...options });
      }
      /** Extends the grant `token` opens; the fencing token stays the same. LockLostError once it is over. */
      async renew(name, token, options = {}) {
        const { ttlSeconds, ...call } = options;
        return checkedGrant(await this.#request("POST", `${lockPath(name)}/renew`, { body: { token, ttlSeconds }, ...call }));
      }
      /**
       * Releases the grant `token` opens: `released` is false when it was already over (repeating is
       * harmless). LockLostError (`not_holder`) when another grant holds the lock now.
       */
      async release(name, token, options = {}) {
        return this.#request("POST", `${lockPath(name)}/release`, { body: { token }, ...options });
      }
      /**
       * Whether the grant with this fencing token holds the lock now: true only at the moment of
       * asking (needs the `read` permission).
       */
      async verify(name, fencingToken, options = {}) {
        return this.#request("POST", `${lockPath(name)}/verify`, { body: { fencingToken }, ...options });
      }
      /** The lock's state, without secrets. LockNotFoundError for a lock never used. */
      async state(name, options = {}) {
        return this.#request("GET", lockPath(name), options);
      }
      /** One page of the locks the caller may read; pass `continueToken: page.continue` for the next. */
      async list(query = {}, options = {}) {
        const params = new URLSearchParams();
        if (query.prefix) params.set("prefix", query.prefix);
        if (query.limit) params.set("limit", String(query.limit));
        if (query.continueToken) params.set("continue", query.continueToken);
        const qs = params.toString();
        return this.#request("GET", `/locks${qs ? `?${qs}` : ""}`, options);
      }
      /** Ends whatever grant holds the lock (needs the `admin` permission); the actor is recorded. */
      async forceRelease(name, options = {}) {
        return this.#request("DELETE", lockPath(name), options);
      }
      async #request(method, path, options = {}) {
        options.signal?.throwIfAborted();
        const jwt = await this.credentials.token();
        const headers = {
          authorization: `Bearer ${jwt}`,
          accept: "application/json, application/problem+json",
          "user-agent": this.#userAgent,
          ...options.headers
        };
        if (options.body !== void 0) headers["content-type"] = "application/json";
        const request = requestSignal(Math.ceil(options.timeoutMs ?? this.#timeoutMs), options.signal);
        let res;
        let text3;
        try {
          res = await this.#fetch(
            new Request(`${this.url}${path}`, {
              method,
              headers,
              body: options.body === void 0 ? void 0 : JSON.stringify(options.body),
              signal: request.signal,
              // Followed, a redirect would hand the JWT and the lock token to another origin and make
              // the client trust its answer. "manual" (not "error", which not every runtime has)
              // hands the 3xx back, or an opaque redirect where the runtime hides it.
              redirect: "manual"
            })
          );
          if (res.type === "opaqueredirect" || res.status >= 300 && res.status < 400) {
            await res.body?.cancel();
            throw new RedirectRefusedError(new URL(this.url).origin, res.status);
          }
          text3 = await boundedText(res);
        } catch (err) {
          if (err instanceof RedirectRefusedError) throw err;
          if (options.signal?.aborted) throw options.signal.reason;
          throw new GatewayUnreachableError(`cannot reach the gateway at ${this.url}: ${networkCause(err)}`, { code: "unreachable", cause: err });
        } finally {
          request.done();
        }
        let body;
        try {
          body = text3 === void 0 ? void 0 : text3 ? JSON.parse(text3) : {};
        } catch {
          body = void 0;
        }
        if (!res.ok) throw errorFromAnswer(res.status, body, retryAfterMs(res.headers.get("retry-after")));
        if (body === null || typeof body !== "object" || Array.isArray(body)) {
          throw new InvalidResponseError(`the gateway answered HTTP ${res.status} with something that is not a JSON object`, { status: res.status, code: "invalid_response" });
        }
        return body;
      }
    };
  }
});

// src/client/credentials.ts
function staticToken(jwt, source = "the static token") {
  const token = jwt.trim();
  if (!token) throw new CredentialsError(`no credentials: ${source} is empty`);
  if (!JWT_SHAPE.test(token)) throw new CredentialsError(`${source} does not look like a JWT (three base64url parts separated by '.')`);
  return { source, token: async () => token };
}
function gitlabIdToken(options) {
  if (!options.value?.trim()) {
    throw new CredentialsError(`no credentials: $${options.variable} is empty or unset; declare it under id_tokens: in .gitlab-ci.yml (aud: the gateway's audience)`);
  }
  return staticToken(options.value, `$${options.variable} (GitLab id_tokens)`);
}
function githubActionsOidc(options) {
  let url2;
  try {
    url2 = new URL(options.requestUrl);
  } catch {
    throw new CredentialsError("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL");
  }
  url2.searchParams.set("audience", options.audience ?? DEFAULT_AUDIENCE);
  const requestToken = options.requestToken;
  return {
    source: "GitHub Actions OIDC",
    async token() {
      let res;
      try {
        res = await fetch(url2, {
          headers: { authorization: `Bearer ${requestToken}`, accept: "application/json" },
          signal: AbortSignal.timeout(TOKEN_REQUEST_TIMEOUT_MS)
        });
      } catch (err) {
        throw new UnavailableError(`cannot reach the GitHub Actions OIDC token endpoint: ${networkCause(err)}`, { code: "credentials_unavailable", cause: err });
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 429 || res.status >= 500) {
          throw new UnavailableError(`the GitHub Actions OIDC token endpoint answered HTTP ${res.status}`, { code: "credentials_unavailable" });
        }
        throw new CredentialsError(`GitHub Actions refused an OIDC token (HTTP ${res.status}); does the job have \`permissions: id-token: write\`?`);
      }
      let value;
      try {
        value = (await res.json()).value;
      } catch {
        value = void 0;
      }
      if (typeof value !== "string" || !JWT_SHAPE.test(value)) {
        throw new InvalidResponseError("the GitHub Actions OIDC token endpoint answered without a token", { code: "invalid_response" });
      }
      return value;
    }
  };
}
var DEFAULT_AUDIENCE, TOKEN_REQUEST_TIMEOUT_MS, JWT_SHAPE;
var init_credentials = __esm({
  "src/client/credentials.ts"() {
    "use strict";
    init_errors2();
    init_network_cause();
    DEFAULT_AUDIENCE = "leasegate";
    TOKEN_REQUEST_TIMEOUT_MS = 1e4;
    JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;
  }
});

// src/cli/credentials.ts
function resolveCredentials(options, env) {
  try {
    return pick(options, env);
  } catch (err) {
    if (err instanceof CredentialsError) throw configError(err.message);
    throw err;
  }
}
function pick(options, env) {
  const explicit = options.token ?? env.LEASEGATE_TOKEN;
  if (explicit !== void 0) return staticToken(explicit, options.token !== void 0 ? "--token" : "LEASEGATE_TOKEN");
  const gitlabVar = options.gitlabIdTokenVar ?? env.LEASEGATE_GITLAB_ID_TOKEN_VAR;
  if (gitlabVar !== void 0) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(gitlabVar)) throw configError(`--gitlab-id-token-var: "${gitlabVar}" is not an environment variable name`);
    return gitlabIdToken({ variable: gitlabVar, value: env[gitlabVar] });
  }
  const requestUrl = env.ACTIONS_ID_TOKEN_REQUEST_URL;
  const requestToken = env.ACTIONS_ID_TOKEN_REQUEST_TOKEN;
  if (requestUrl && requestToken) {
    return githubActionsOidc({ requestUrl, requestToken, audience: options.audience ?? env.LEASEGATE_AUDIENCE ?? DEFAULT_AUDIENCE });
  }
  if (env.GITHUB_ACTIONS === "true") {
    throw configError("no credentials: this GitHub Actions job cannot request an OIDC token; add `permissions: id-token: write` to the workflow or job (or pass --token / LEASEGATE_TOKEN)");
  }
  if (env.GITLAB_CI === "true") {
    throw configError("no credentials: declare an ID token under id_tokens: in .gitlab-ci.yml and name its variable with --gitlab-id-token-var or LEASEGATE_GITLAB_ID_TOKEN_VAR (or pass --token / LEASEGATE_TOKEN)");
  }
  throw configError("no credentials: pass --token or set LEASEGATE_TOKEN to a JWT the gateway trusts (in CI: GitHub Actions OIDC or --gitlab-id-token-var)");
}
var init_credentials2 = __esm({
  "src/cli/credentials.ts"() {
    "use strict";
    init_credentials();
    init_errors2();
    init_errors();
  }
});

// src/cli/connection.ts
function gatewayUrl(values, env) {
  const raw = stringOption(values, "url") ?? env.LEASEGATE_URL;
  if (raw === void 0 || raw.trim() === "") {
    throw configError("no gateway URL: pass --url or set LEASEGATE_URL (e.g. https://leasegate.example.com)");
  }
  try {
    return gatewayBaseUrl(raw);
  } catch (err) {
    if (err instanceof GatewayUrlError) throw configError(err.message);
    throw err;
  }
}
function connect(values, env) {
  const url2 = gatewayUrl(values, env);
  const credentials = resolveCredentials(
    {
      token: stringOption(values, "token"),
      audience: stringOption(values, "audience"),
      gitlabIdTokenVar: stringOption(values, "gitlab-id-token-var")
    },
    env
  );
  return new LeasegateClient({ url: url2, credentials, userAgent: `leasegate-cli/${CLI_VERSION}` });
}
var init_connection = __esm({
  "src/cli/connection.ts"() {
    "use strict";
    init_gateway_url();
    init_leasegate_client();
    init_args();
    init_credentials2();
    init_errors();
    init_version();
  }
});

// src/cli/duration.ts
function parseDuration(text3, option) {
  const trimmed = text3.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1e3);
  const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy;
  let total = 0;
  let consumed = 0;
  for (let match = part.exec(trimmed); match; match = part.exec(trimmed)) {
    total += Number(match[1]) * UNIT_MS[match[2]];
    consumed = part.lastIndex;
  }
  if (trimmed.length === 0 || consumed !== trimmed.length) {
    throw usageError(`${option}: "${text3}" is not a duration (examples: 30s, 15m, 1h30m, 500ms)`);
  }
  return Math.round(total);
}
function parseTtlSeconds(text3, option = "--ttl") {
  const ms = parseDuration(text3, option);
  if (ms < 1e3 || ms % 1e3 !== 0) throw usageError(`${option}: must be a whole number of seconds, at least 1s (got "${text3}")`);
  return ms / 1e3;
}
function formatDuration(ms) {
  const total = Math.max(0, Math.round(ms / 1e3));
  const h = Math.floor(total / 3600);
  const m = Math.floor(total % 3600 / 60);
  const s = total % 60;
  if (h > 0) return `${h}h${String(m).padStart(2, "0")}m`;
  if (m > 0) return `${m}m${String(s).padStart(2, "0")}s`;
  return `${s}s`;
}
var UNIT_MS;
var init_duration = __esm({
  "src/cli/duration.ts"() {
    "use strict";
    init_errors();
    UNIT_MS = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5 };
  }
});

// src/cli/github-actions.ts
import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";
function inGitHubActions(env) {
  return env.GITHUB_ACTIONS === "true" || Boolean(env.GITHUB_OUTPUT);
}
function maskCommand(secret) {
  return `::add-mask::${secret.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A")}
`;
}
function writeStepOutputs(file, outputs) {
  let text3 = "";
  for (const [name, value] of Object.entries(outputs)) {
    if (value === void 0) continue;
    if (/[\r\n]/.test(value)) {
      const delimiter = `leasegate_${randomUUID()}`;
      text3 += `${name}<<${delimiter}
${value}
${delimiter}
`;
    } else {
      text3 += `${name}=${value}
`;
    }
  }
  appendFileSync(file, text3);
}
var init_github_actions = __esm({
  "src/cli/github-actions.ts"() {
    "use strict";
  }
});

// src/client/holder-label.ts
function holderLabel(label) {
  const oneLine = label.replace(UNPRINTABLE_RUN, " ").trim();
  if (oneLine.length <= MAX_HOLDER) return oneLine;
  return `${oneLine.slice(0, MAX_HOLDER - 1).replace(/[\uD800-\uDBFF]$/, "")}\u2026`;
}
var MAX_HOLDER, UNPRINTABLE_RUN;
var init_holder_label = __esm({
  "src/client/holder-label.ts"() {
    "use strict";
    init_printable_text();
    MAX_HOLDER = 128;
    UNPRINTABLE_RUN = new RegExp(`[${UNPRINTABLE_CHARACTERS}]+`, "gu");
  }
});

// src/cli/holder.ts
import { hostname, userInfo } from "node:os";
function defaultHolder(env, pid = process.pid) {
  let label;
  if (env.GITHUB_ACTIONS === "true" && env.GITHUB_REPOSITORY) {
    const url2 = env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID ? ` ${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : "";
    label = `${env.GITHUB_REPOSITORY} ${env.GITHUB_WORKFLOW ?? "workflow"}/${env.GITHUB_JOB ?? "job"}${url2}`;
  } else if (env.GITLAB_CI === "true" && env.CI_PROJECT_PATH) {
    label = `${env.CI_PROJECT_PATH} job ${env.CI_JOB_ID ?? "?"}${env.CI_JOB_URL ? ` ${env.CI_JOB_URL}` : ""}`;
  } else {
    let user = env.USER ?? env.LOGNAME;
    try {
      user ??= userInfo().username;
    } catch {
      user ??= "unknown";
    }
    label = `${user}@${hostname()} pid ${pid}`;
  }
  return holderLabel(label);
}
var init_holder = __esm({
  "src/cli/holder.ts"() {
    "use strict";
    init_holder_label();
  }
});

// src/cli/interrupts.ts
var FORWARDED_SIGNALS, Interrupts;
var init_interrupts = __esm({
  "src/cli/interrupts.ts"() {
    "use strict";
    FORWARDED_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"];
    Interrupts = class {
      #controller = new AbortController();
      #listeners = [];
      #handlers = /* @__PURE__ */ new Map();
      #received;
      /** The first signal received, if any. */
      get received() {
        return this.#received;
      }
      /** Aborted at the first signal. */
      get signal() {
        return this.#controller.signal;
      }
      install() {
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
      uninstall() {
        for (const [name, handler] of this.#handlers) process.off(name, handler);
        this.#handlers.clear();
      }
      /** Calls `listener` for every signal from now on; returns a function that stops that. */
      onSignal(listener) {
        this.#listeners.push(listener);
        return () => {
          const i = this.#listeners.indexOf(listener);
          if (i >= 0) this.#listeners.splice(i, 1);
        };
      }
    };
  }
});

// src/client/failure-kinds.ts
function isLockLost(err) {
  return err instanceof LockLostError || err instanceof LockNotFoundError;
}
function isTransient(err) {
  return err instanceof UnavailableError || err instanceof LockContendedError;
}
var init_failure_kinds = __esm({
  "src/client/failure-kinds.ts"() {
    "use strict";
    init_errors2();
  }
});

// src/client/timing.ts
function sleep(ms, signal) {
  return new Promise((resolve) => {
    if (signal?.aborted || ms <= 0) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
function backoffMs(attempt2, baseMs, maxMs) {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt2, 20));
  return ceiling * (0.5 + Math.random() * 0.5);
}
function jitterAbove(ms) {
  return ms + ms * 0.2 * Math.random() + 250 * Math.random();
}
var monotonicNow;
var init_timing = __esm({
  "src/client/timing.ts"() {
    "use strict";
    monotonicNow = () => performance.now();
  }
});

// src/client/release-grant.ts
async function releaseGrant(client, lock2, token) {
  for (let attempt2 = 0; ; attempt2++) {
    try {
      const { released } = await client.release(lock2, token, { timeoutMs: ATTEMPT_TIMEOUT_MS });
      return released ? { kind: "released" } : { kind: "already-over" };
    } catch (err) {
      if (isLockLost(err)) return { kind: "lost", error: err };
      if (!isTransient(err) || attempt2 === ATTEMPTS - 1) return { kind: "failed", error: err };
      await sleep(backoffMs(attempt2, 250, 1e3));
    }
  }
}
var ATTEMPTS, ATTEMPT_TIMEOUT_MS;
var init_release_grant = __esm({
  "src/client/release-grant.ts"() {
    "use strict";
    init_failure_kinds();
    init_timing();
    ATTEMPTS = 3;
    ATTEMPT_TIMEOUT_MS = 5e3;
  }
});

// src/cli/failures.ts
function exitCodeFor(err) {
  if (err instanceof CliError) return err.exitCode;
  if (!(err instanceof LeasegateError)) return ExitCode.internal;
  if (err instanceof LockHeldError || err instanceof LockContendedError) return ExitCode.notAcquired;
  if (isLockLost(err)) return ExitCode.lockLost;
  if (isTransient(err)) return ExitCode.unavailable;
  if (err instanceof RedirectRefusedError || err instanceof CredentialsError || err instanceof GatewayUrlError || err instanceof InvalidRequestError) return ExitCode.usage;
  if (err.status !== void 0 && err.status >= 400 && err.status < 500) return ExitCode.usage;
  return ExitCode.internal;
}
function describeFailure(err, credentialsSource) {
  if (err instanceof RedirectRefusedError) {
    return `the gateway at ${err.origin} answered with a redirect, which leasegate does not follow: set --url or LEASEGATE_URL to the gateway's own https:// address`;
  }
  if (err instanceof LeasegateError && err.status !== void 0 && !(err.code === "invalid_response" && err.status < 300)) {
    let text3 = `${displayText(err.code)}: ${displayText(err.detail ?? err.title ?? `HTTP ${err.status}`)} (HTTP ${err.status})`;
    if (err instanceof LockHeldError) text3 += heldBySuffix(err);
    const errors = err.problem.errors;
    if (Array.isArray(errors) && errors.length > 0) {
      text3 += `: ${errors.map((e) => `${displayText(e?.path ?? "?")} ${displayText(e?.message ?? "")}`.trim()).join("; ")}`;
    }
    if (err.status === 401) text3 += `; the gateway did not accept the token from ${credentialsSource ?? "the credentials"} (expired, wrong issuer or audience?)`;
    if (err.status === 403) text3 += "; the gateway's policy does not allow this for your identity";
    if (err.status === 404 && err.code === "not_found") text3 += "; is --url the gateway's base URL?";
    return text3;
  }
  if (err instanceof Error) return displayText(err.message);
  return displayText(err);
}
function heldBySuffix(refusal) {
  const who = describeHolder(refusal.holder, refusal.subject);
  const until = refusal.expiresAt ? ` until ${displayText(refusal.expiresAt)}` : "";
  return who ? `; held by ${who}${until}` : "";
}
function describeHolder(holder3, subject) {
  const label = typeof holder3 === "string" && holder3 ? displayText(holder3) : void 0;
  const sub = typeof subject === "string" && subject ? displayText(subject) : void 0;
  if (label && sub) return `${label} (${sub})`;
  return label ?? sub ?? "";
}
function failure(err, operation, credentialsSource) {
  if (err instanceof CliError) return err.message.startsWith(operation) ? err : new CliError(err.exitCode, `${operation}: ${err.message}`, { cause: err });
  return new CliError(exitCodeFor(err), `${operation}: ${describeFailure(err, credentialsSource)}`, { cause: err });
}
var init_failures = __esm({
  "src/cli/failures.ts"() {
    "use strict";
    init_display_text();
    init_errors2();
    init_failure_kinds();
    init_gateway_url();
    init_errors();
    init_exit_codes();
  }
});

// src/cli/release.ts
async function releaseQuietly(client, lock2, token, log) {
  const outcome = await releaseGrant(client, lock2, token);
  log(describeRelease(outcome, lock2, client.credentials.source));
  return outcome.kind === "released";
}
function describeRelease(outcome, lock2, credentialsSource) {
  switch (outcome.kind) {
    case "released":
      return `leasegate: released ${lock2}`;
    case "already-over":
      return `leasegate: ${lock2} was already released or expired`;
    case "lost":
      return `leasegate: ${lock2} is no longer ours to release (${describeFailure(outcome.error, credentialsSource)})`;
    case "failed":
      return `leasegate: could not release ${lock2} (${describeFailure(outcome.error, credentialsSource)}); it expires on its own at the end of its TTL`;
  }
}
var init_release = __esm({
  "src/cli/release.ts"() {
    "use strict";
    init_release_grant();
    init_failures();
  }
});

// src/client/renewer.ts
function lostBy(err) {
  return new LockLostError(err.message, { status: err.status, code: err.code, problem: err.problem, retryAfterMs: err.retryAfterMs, cause: err });
}
var MAX_RETRY_MS, MAX_REQUEST_MS, Renewer;
var init_renewer = __esm({
  "src/client/renewer.ts"() {
    "use strict";
    init_display_text();
    init_errors2();
    init_failure_kinds();
    init_timing();
    MAX_RETRY_MS = 2e3;
    MAX_REQUEST_MS = 15e3;
    Renewer = class {
      #o;
      #grant;
      #expiresAt;
      #timer;
      #expiryTimer;
      #inFlight;
      #lastFailure;
      #failures = 0;
      #done = false;
      #renewals = 0;
      constructor(options) {
        this.#o = options;
        this.#grant = options.grant;
        this.#expiresAt = options.validFrom + options.grant.ttlSeconds * 1e3;
      }
      /** The latest grant (its expiresAt moves with every renewal). */
      get grant() {
        return this.#grant;
      }
      /** Successful renewals so far. */
      get renewals() {
        return this.#renewals;
      }
      start() {
        this.#armExpiry();
        this.#schedule(this.#o.renewAtOnce ? 0 : this.#o.validFrom + this.#interval() - monotonicNow());
      }
      /** Stops renewing; waits for a renewal in flight so that a release comes after it. */
      async stop() {
        this.#done = true;
        clearTimeout(this.#timer);
        clearTimeout(this.#expiryTimer);
        await this.#inFlight;
      }
      #interval() {
        return Math.max(250, this.#grant.ttlSeconds * 1e3 / 3);
      }
      #schedule(delayMs) {
        if (this.#done) return;
        clearTimeout(this.#timer);
        this.#timer = setTimeout(() => {
          this.#inFlight = this.#renew();
        }, Math.max(0, delayMs));
      }
      #armExpiry() {
        clearTimeout(this.#expiryTimer);
        this.#expiryTimer = setTimeout(() => {
          this.#lose(
            new LockLostError(`no renewal of ${this.#o.lock} succeeded before the grant expired (${displayText(this.#grant.expiresAt)})`, {
              code: "grant_expired",
              cause: this.#lastFailure
            })
          );
        }, Math.max(0, this.#expiresAt - monotonicNow()));
      }
      async #renew() {
        if (this.#done) return;
        const sentAt = monotonicNow();
        const left = this.#expiresAt - sentAt;
        try {
          const grant = await this.#o.client.renew(this.#o.lock, this.#o.token, {
            ttlSeconds: this.#o.ttlSeconds,
            timeoutMs: Math.min(MAX_REQUEST_MS, Math.max(1e3, left))
          });
          if (this.#done) return;
          if (this.#failures > 0) this.#o.onRecovered?.(this.#failures);
          this.#failures = 0;
          this.#lastFailure = void 0;
          this.#renewals++;
          this.#grant = grant;
          this.#expiresAt = sentAt + grant.ttlSeconds * 1e3;
          this.#armExpiry();
          this.#schedule(sentAt + this.#interval() - monotonicNow());
        } catch (err) {
          if (this.#done) return;
          if (isLockLost(err)) {
            this.#lose(err instanceof LockLostError ? err : lostBy(err));
            return;
          }
          this.#failures++;
          this.#lastFailure = err;
          this.#o.onRenewalFailed?.(err, this.#failures);
          const wait2 = Math.min(backoffMs(this.#failures - 1, 250, MAX_RETRY_MS), Math.max(0, this.#expiresAt - monotonicNow()));
          this.#schedule(wait2);
        }
      }
      #lose(error) {
        if (this.#done) return;
        this.#done = true;
        clearTimeout(this.#timer);
        clearTimeout(this.#expiryTimer);
        this.#o.onLost(error);
      }
    };
  }
});

// src/cli/instant.ts
function formatInstant(iso) {
  const date = iso instanceof Date ? iso : new Date(typeof iso === "string" ? iso : Number.NaN);
  return Number.isNaN(date.getTime()) ? displayText(iso) : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
var init_instant = __esm({
  "src/cli/instant.ts"() {
    "use strict";
    init_display_text();
  }
});

// src/client/place-in-line.ts
var LEAVE_TIMEOUT_MS, PlaceInLine;
var init_place_in_line = __esm({
  "src/client/place-in-line.ts"() {
    "use strict";
    init_errors2();
    LEAVE_TIMEOUT_MS = 2e3;
    PlaceInLine = class {
      #client;
      #lock;
      #idempotencyKey;
      #ticket;
      #mayHold = false;
      constructor(client, lock2, idempotencyKey2) {
        this.#client = client;
        this.#lock = lock2;
        this.#idempotencyKey = idempotencyKey2;
      }
      /** The ticket to send with the next waiting request, once the gateway has given one. */
      get ticket() {
        return this.#ticket;
      }
      /** Whether the gateway may keep a place in line for us. */
      get mayHold() {
        return this.#mayHold;
      }
      /**
       * A waiting request was answered "not yet": the caller has a place. Keeps the ticket (only one
       * of the shape the gateway issues comes this far); without one, the Idempotency-Key still
       * names the place.
       */
      placed(ticket) {
        this.#mayHold = true;
        if (ticket !== void 0) this.#ticket = ticket;
      }
      /** A waiting request was cut off before its answer: the gateway may have given it a place. */
      cutOff() {
        this.#mayHold = true;
      }
      /**
       * Gives the place up, if the gateway may keep one, best effort and within LEAVE_TIMEOUT_MS: a
       * gateway that cannot be reached leaves the place to lapse on its own. Resolves to what went
       * wrong, if anything; never rejects. A request that was refused outright (bad credentials, a
       * redirect) or never reached the gateway took no place, and nothing is sent.
       */
      async leave() {
        if (!this.#mayHold) return void 0;
        try {
          await this.#client.leave(this.#lock, { ticket: this.#ticket, idempotencyKey: this.#idempotencyKey }, { timeoutMs: LEAVE_TIMEOUT_MS });
          this.#mayHold = false;
          return void 0;
        } catch (err) {
          if (err instanceof NotFoundError && err.code === "not_found") return void 0;
          return err;
        }
      }
    };
  }
});

// src/client/acquire-within-wait.ts
async function acquireWithinWait(client, lock2, options) {
  const started = monotonicNow();
  const place = new PlaceInLine(client, lock2, options.idempotencyKey);
  let acquired;
  try {
    acquired = await attempt(client, lock2, options, place);
    return { ...acquired, waitedMs: monotonicNow() - started };
  } finally {
    if (!acquired) {
      const problem = await place.leave();
      if (problem !== void 0) options.observer?.leaveFailed?.(problem);
    }
  }
}
async function attempt(client, lock2, options, place) {
  const { signal, observer } = options;
  const poll = options.pollSeconds ?? DEFAULT_POLL_SECONDS;
  const retryTransientForMs = options.retryTransientForMs ?? DEFAULT_RETRY_TRANSIENT_FOR_MS;
  const deadline = monotonicNow() + options.waitMs;
  const body = { holder: options.holder, ttlSeconds: options.ttlSeconds, metadata: options.metadata };
  let heldAttempts = 0;
  let transientAttempts = 0;
  let transientSince;
  let unansweredSince;
  let rounds = 0;
  for (; ; ) {
    signal?.throwIfAborted();
    let delay2;
    const sentAt = monotonicNow();
    const waitSeconds = options.waitMs > 0 ? Math.max(1, Math.min(rounds === 0 ? poll.first : poll.later, Math.ceil((deadline - sentAt) / 1e3))) : 0;
    try {
      const ticket = waitSeconds > 0 ? place.ticket : void 0;
      const grant = await client.acquire(
        lock2,
        { ...body, waitSeconds, ...ticket && { ticket } },
        // A single try is short and always finished, so that a grant it makes is never unseen.
        { idempotencyKey: options.idempotencyKey, signal: waitSeconds > 0 ? signal : void 0 }
      );
      if (unansweredSince !== void 0) {
        return { grant, validFrom: Math.min(sentAt, unansweredSince), renewAtOnce: true };
      }
      if (waitSeconds === 0) return { grant, validFrom: sentAt, renewAtOnce: false };
      const allowance = Math.min(GRANT_ANSWER_ALLOWANCE_MS, grant.ttlSeconds * 1e3 / 3);
      return { grant, validFrom: Math.max(sentAt, monotonicNow() - allowance), renewAtOnce: true };
    } catch (err) {
      if (signal?.aborted && waitSeconds > 0) {
        place.cutOff();
        await collectAndRelease(client, lock2, options, body);
        signal.throwIfAborted();
      }
      const now = monotonicNow();
      if (err instanceof LockHeldError) {
        unansweredSince = void 0;
        transientSince = void 0;
        transientAttempts = 0;
        rounds++;
        if (waitSeconds > 0) place.placed(err.ticket);
        if (now >= deadline) throw err;
        observer?.refused?.(err);
        const retryAfter = err.retryAfterMs;
        if (retryAfter === 0) {
          delay2 = now - sentAt >= 1e3 ? 0 : jitterAbove(250);
        } else {
          delay2 = retryAfter !== void 0 ? jitterAbove(retryAfter) : backoffMs(heldAttempts++, 1e3, 3e4);
        }
        delay2 = Math.min(delay2, Math.max(0, deadline - now));
      } else if (isTransient(err)) {
        transientSince ??= now;
        if (!(err instanceof LockContendedError)) unansweredSince ??= sentAt;
        const giveUpAt = Math.min(Math.max(deadline, transientSince + retryTransientForMs), transientSince + TRANSIENT_BUDGET_MS);
        if (now >= giveUpAt) throw err;
        observer?.retrying?.(err);
        const retryAfter = err.retryAfterMs;
        const backoff = backoffMs(transientAttempts++, 500, place.mayHold ? IN_LINE_RETRY_MAX_MS : 1e4);
        delay2 = Math.min(retryAfter !== void 0 ? jitterAbove(retryAfter) : backoff, Math.max(0, giveUpAt - now));
      } else {
        throw err;
      }
    }
    await sleep(delay2, signal);
  }
}
async function collectAndRelease(client, lock2, options, body) {
  let grant;
  try {
    grant = await client.acquire(lock2, body, { idempotencyKey: options.idempotencyKey, timeoutMs: CLEANUP_TIMEOUT_MS });
  } catch {
    return;
  }
  const outcome = await releaseGrant(client, lock2, grant.token);
  options.observer?.abandonedGrant?.(outcome);
}
var DEFAULT_POLL_SECONDS, DEFAULT_RETRY_TRANSIENT_FOR_MS, TRANSIENT_BUDGET_MS, IN_LINE_RETRY_MAX_MS, CLEANUP_TIMEOUT_MS, GRANT_ANSWER_ALLOWANCE_MS;
var init_acquire_within_wait = __esm({
  "src/client/acquire-within-wait.ts"() {
    "use strict";
    init_errors2();
    init_failure_kinds();
    init_place_in_line();
    init_release_grant();
    init_timing();
    DEFAULT_POLL_SECONDS = { first: 50, later: 50 };
    DEFAULT_RETRY_TRANSIENT_FOR_MS = 1e4;
    TRANSIENT_BUDGET_MS = 6e4;
    IN_LINE_RETRY_MAX_MS = 4e3;
    CLEANUP_TIMEOUT_MS = 5e3;
    GRANT_ANSWER_ALLOWANCE_MS = 1e3;
  }
});

// src/cli/queue-standing.ts
function standingOf(problem) {
  return {
    holder: text2(problem.holder),
    subject: text2(problem.subject),
    holderIdentity: text2(problem.holderIdentity),
    expiresAt: text2(problem.expiresAt),
    position: count2(problem.position, 1),
    waiters: count2(problem.waiters, 0)
  };
}
function isHeld(standing) {
  return Boolean(standing.holder || standing.subject || standing.holderIdentity || standing.expiresAt);
}
function ordinal(n) {
  const lastTwo = n % 100;
  const suffix = lastTwo >= 11 && lastTwo <= 13 ? "th" : ["th", "st", "nd", "rd"][n % 10] ?? "th";
  return `${n}${suffix}`;
}
function describeStanding(standing, now) {
  const place = standing.position === void 0 ? void 0 : `${ordinal(standing.position)} in line`;
  return place ? `${place}; ${describeLock(standing, now)}` : describeLock(standing, now);
}
function describeLock(standing, now) {
  if (!isHeld(standing)) {
    if (standing.position !== void 0) return standing.position === 1 ? "free, next to take it" : `free, ${standing.position - 1} ahead of you`;
    return standing.waiters ? `free, ${standing.waiters} waiting in line` : "held by another caller";
  }
  const who = describeHolder(standing.holder, standing.subject) || describeHolder(standing.holderIdentity, void 0) || "another caller";
  if (!standing.expiresAt) return `held by ${who}`;
  const until = ` until ${formatInstant(standing.expiresAt)}`;
  if (now === void 0) return `held by ${who}${until}`;
  const left = Date.parse(standing.expiresAt) - now;
  if (Number.isNaN(left)) return `held by ${who}${until}`;
  return `held by ${who}${until} ${left >= 0 ? `(in ${formatDuration(left)})` : "(expired, awaiting takeover)"}`;
}
function text2(value) {
  return typeof value === "string" && value !== "" ? value : void 0;
}
function count2(value, min) {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= min ? value : void 0;
}
var init_queue_standing = __esm({
  "src/cli/queue-standing.ts"() {
    "use strict";
    init_duration();
    init_failures();
    init_instant();
  }
});

// src/cli/wait-progress.ts
var TTY_INTERVAL_MS, LOG_INTERVAL_MS, WaitProgress;
var init_wait_progress = __esm({
  "src/cli/wait-progress.ts"() {
    "use strict";
    init_duration();
    init_queue_standing();
    init_timing();
    TTY_INTERVAL_MS = 1e3;
    LOG_INTERVAL_MS = 15e3;
    WaitProgress = class {
      #out;
      #lock;
      #waitMs;
      #started = monotonicNow();
      #tty;
      #standing;
      #note;
      #timer;
      #drawn = false;
      constructor(out, lock2, waitMs) {
        this.#out = out;
        this.#lock = lock2;
        this.#waitMs = waitMs;
        this.#tty = Boolean(out.isTTY);
      }
      /** Time spent waiting so far. */
      get waitedMs() {
        return monotonicNow() - this.#started;
      }
      /** The gateway refused the lock for now: it is held, or others are ahead in line. */
      refused(standing) {
        this.#standing = standing;
        this.#note = void 0;
        this.#start();
      }
      /** A transient failure while waiting (the gateway is unavailable …). */
      retrying(reason) {
        this.#note = reason;
        this.#start();
      }
      /** Stops reporting; on a terminal, clears the line. */
      stop() {
        if (this.#timer) clearInterval(this.#timer);
        this.#timer = void 0;
        if (this.#tty && this.#drawn) this.#out.write("\r\x1B[2K");
        this.#drawn = false;
      }
      /** The current line, without decoration. */
      line(now = Date.now()) {
        const waited = `waited ${formatDuration(this.waitedMs)}${Number.isFinite(this.#waitMs) ? ` of ${formatDuration(this.#waitMs)}` : ""}`;
        if (this.#note) return `leasegate: waiting for ${this.#lock}: ${this.#note}; ${waited}`;
        return `leasegate: waiting for ${this.#lock}: ${describeStanding(this.#standing ?? {}, now)}; ${waited}`;
      }
      #start() {
        if (this.#timer) {
          if (this.#tty) this.#draw();
          return;
        }
        this.#draw();
        this.#timer = setInterval(() => this.#draw(), this.#tty ? TTY_INTERVAL_MS : LOG_INTERVAL_MS);
        this.#timer.unref();
      }
      #draw() {
        const text3 = this.line();
        if (this.#tty) {
          const width = Math.max(20, (this.#out.columns ?? 100) - 1);
          this.#out.write(`\r\x1B[2K${text3.length > width ? `${text3.slice(0, width - 1)}\u2026` : text3}`);
          this.#drawn = true;
        } else {
          this.#out.write(`${text3}
`);
        }
      }
    };
  }
});

// src/cli/wait.ts
async function acquireWithWait(options) {
  const { client, lock: lock2, out } = options;
  const source = client.credentials.source;
  const progress = new WaitProgress(out, lock2, options.waitMs);
  let lastStanding;
  try {
    return await acquireWithinWait(client, lock2, {
      ttlSeconds: options.ttlSeconds,
      holder: options.holder,
      idempotencyKey: options.idempotencyKey,
      waitMs: options.waitMs,
      signal: options.cancel,
      pollSeconds: { first: FIRST_ROUND_SECONDS, later: ROUND_SECONDS },
      retryTransientForMs: 0,
      observer: {
        refused(refusal) {
          lastStanding = standingOf(refusal.problem);
          progress.refused(lastStanding);
        },
        retrying(error) {
          progress.retrying(`${describeFailure(error, source)}, retrying`);
        },
        leaveFailed(error) {
          progress.stop();
          out.write(`leasegate: could not leave the line for ${lock2} (${describeFailure(error, source)}); the place lapses on its own shortly
`);
        },
        abandonedGrant(outcome) {
          progress.stop();
          out.write(`${describeRelease(outcome, lock2, source)}
`);
        }
      }
    });
  } catch (err) {
    if (options.cancel.aborted && err === options.cancel.reason) return void 0;
    if (err instanceof LockHeldError) throw failure(notAcquired(options.waitMs, standingOf(err.problem)), options.operation);
    if (err instanceof LockContendedError) throw failure(notAcquired(options.waitMs, lastStanding), options.operation);
    throw failure(err, options.operation, source);
  } finally {
    progress.stop();
  }
}
function notAcquired(waitMs, standing) {
  const within = waitMs > 0 ? ` within --wait ${formatDuration(waitMs)}` : " (--wait 0)";
  return new CliError(ExitCode.notAcquired, `not acquired${within}${standing ? `: ${describeStanding(standing)}` : ""}`);
}
var FIRST_ROUND_SECONDS, ROUND_SECONDS;
var init_wait = __esm({
  "src/cli/wait.ts"() {
    "use strict";
    init_acquire_within_wait();
    init_errors2();
    init_duration();
    init_errors();
    init_exit_codes();
    init_failures();
    init_queue_standing();
    init_release();
    init_wait_progress();
    FIRST_ROUND_SECONDS = 1;
    ROUND_SECONDS = 10;
  }
});

// src/cli/run-command.ts
var run_command_exports = {};
__export(run_command_exports, {
  RUN_DEFAULTS: () => RUN_DEFAULTS,
  runCommand: () => runCommand
});
import { randomUUID as randomUUID2 } from "node:crypto";
async function runCommand(ctx) {
  const { values, env, io } = ctx;
  const lock2 = lockArgument("run", ctx.positionals);
  if (ctx.commandLine.length === 0) throw usageError("run: missing the command to run, after --");
  const ttlSeconds = parseTtlSeconds(stringOption(values, "ttl") ?? RUN_DEFAULTS.ttl);
  const waitMs = parseDuration(stringOption(values, "wait") ?? RUN_DEFAULTS.wait, "--wait");
  const graceMs = parseDuration(stringOption(values, "grace") ?? RUN_DEFAULTS.grace, "--grace");
  const holder3 = holderLabel(stringOption(values, "holder") ?? defaultHolder(env));
  const idempotencyKey2 = stringOption(values, "idempotency-key") ?? `leasegate-run-${randomUUID2()}`;
  const client = connect(values, env);
  const log = (line) => void io.stderr.write(`${line}
`);
  const interrupts = new Interrupts();
  interrupts.install();
  let signalsBeforeCommand = 0;
  const stopHurrying = interrupts.onSignal((signal) => {
    if (++signalsBeforeCommand > 1) {
      log(`leasegate: ${signal} again; exiting without waiting`);
      process.exit(signalExitCode(signal));
    }
  });
  try {
    const acquired = await acquireWithWait({ client, lock: lock2, ttlSeconds, holder: holder3, idempotencyKey: idempotencyKey2, waitMs, out: io.stderr, operation: `run ${lock2}`, cancel: interrupts.signal });
    if (!acquired) {
      log(`leasegate: interrupted by ${interrupts.received} while waiting for ${lock2}`);
      return signalExitCode(interrupts.received ?? "SIGTERM");
    }
    const { grant, waitedMs: waited } = acquired;
    if (inGitHubActions(env)) io.stderr.write(maskCommand(grant.token));
    if (interrupts.received) {
      log(`leasegate: interrupted by ${interrupts.received}; not running the command`);
      await releaseQuietly(client, lock2, grant.token, log);
      return signalExitCode(interrupts.received);
    }
    stopHurrying();
    log(
      `leasegate: acquired ${lock2} as ${displayText(grant.holder ?? holder3)} (fencing token ${displayText(grant.fencingToken)}, ttl ${displayText(grant.ttlSeconds)}s, expires ${formatInstant(grant.expiresAt)})` + (waited >= 1e3 ? ` after waiting ${formatDuration(waited)}` : "")
    );
    const child = new Child(ctx.commandLine, {
      ...env,
      LEASEGATE_LOCK: lock2,
      LEASEGATE_FENCING_TOKEN: grant.fencingToken,
      LEASEGATE_HOLDER: grant.holder ?? holder3,
      LEASEGATE_EXPIRES_AT: grant.expiresAt
    });
    let lostReason;
    const source = client.credentials.source;
    const renewer = new Renewer({
      client,
      lock: lock2,
      token: grant.token,
      ttlSeconds,
      grant,
      validFrom: acquired.validFrom,
      renewAtOnce: acquired.renewAtOnce,
      onRenewalFailed: (err, failures) => {
        if (failures === 1 || failures % 10 === 0) {
          log(`leasegate: renewing ${lock2} failed (${describeFailure(err, source)}); retrying until the grant expires at ${formatInstant(renewer.grant.expiresAt)}`);
        }
      },
      onRecovered: (failures) => log(`leasegate: renewed ${lock2} again after ${failures} failed attempt(s)`),
      onLost: (error) => {
        lostReason = error.code === "grant_expired" ? `no successful renewal before the grant expired (${formatInstant(renewer.grant.expiresAt)})` : `renewal refused: ${describeFailure(error, source)}`;
        log(`leasegate: lost ${lock2}: ${lostReason}; stopping the command (SIGTERM, SIGKILL after ${formatDuration(graceMs)})`);
        child.terminate(graceMs);
      }
    });
    const stopForwarding = interrupts.onSignal((signal) => child.signal(signal));
    renewer.start();
    const end = await child.ended;
    stopForwarding();
    await renewer.stop();
    if (end.kind === "spawn-failed") log(`leasegate: cannot run ${ctx.commandLine[0]}: ${end.error.code ?? end.error.message}`);
    await releaseQuietly(client, lock2, grant.token, log);
    if (lostReason !== void 0) return ExitCode.lockLost;
    const code = childExitCode(end);
    if (code === 0 && interrupts.received) return signalExitCode(interrupts.received);
    return code;
  } finally {
    interrupts.uninstall();
  }
}
var RUN_DEFAULTS;
var init_run_command = __esm({
  "src/cli/run-command.ts"() {
    "use strict";
    init_args();
    init_child();
    init_connection();
    init_display_text();
    init_duration();
    init_errors();
    init_exit_codes();
    init_github_actions();
    init_holder_label();
    init_holder();
    init_interrupts();
    init_release();
    init_renewer();
    init_failures();
    init_instant();
    init_wait();
    RUN_DEFAULTS = { ttl: "60s", wait: "15m", grace: "10s" };
  }
});

// src/cli/output.ts
function shellWord(value) {
  return /^[A-Za-z0-9_.,:/@%+=-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}
function assignments(pairs) {
  return pairs.filter((pair) => pair[1] !== void 0).map(([key, value]) => `${key}=${shellWord(displayText(value))}
`).join("");
}
function jsonText(value) {
  return `${displayJson(value)}
`;
}
function table(header, rows) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? "").length)));
  const line = (cells) => cells.map((c, i) => i === cells.length - 1 ? c : c.padEnd(widths[i])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `${l}
`).join("");
}
var init_output = __esm({
  "src/cli/output.ts"() {
    "use strict";
    init_display_text();
  }
});

// src/cli/acquire-command.ts
var acquire_command_exports = {};
__export(acquire_command_exports, {
  acquireCommand: () => acquireCommand,
  grantAssignments: () => grantAssignments
});
import { randomUUID as randomUUID3 } from "node:crypto";
import { setTimeout as delay } from "node:timers/promises";
async function acquireCommand(ctx) {
  const { values, env, io } = ctx;
  const lock2 = lockArgument("acquire", ctx.positionals);
  const ttlSeconds = parseTtlSeconds(stringOption(values, "ttl") ?? "60s");
  const waitMs = parseDuration(stringOption(values, "wait") ?? "0", "--wait");
  const holder3 = holderLabel(stringOption(values, "holder") ?? defaultHolder(env));
  const idempotencyKey2 = stringOption(values, "idempotency-key") ?? `leasegate-acquire-${randomUUID3()}`;
  const client = connect(values, env);
  const log = (line) => void io.stderr.write(`${line}
`);
  const interrupts = new Interrupts();
  interrupts.install();
  let grant;
  try {
    const acquired = await acquireWithWait({
      client,
      lock: lock2,
      ttlSeconds,
      holder: holder3,
      idempotencyKey: idempotencyKey2,
      waitMs,
      out: io.stderr,
      operation: `acquire ${lock2}`,
      cancel: interrupts.signal
    });
    if (acquired && inGitHubActions(env)) io.stderr.write(maskCommand(acquired.grant.token));
    if (!acquired || interrupts.received) {
      if (acquired) await releaseQuietly(client, lock2, acquired.grant.token, log);
      log(`leasegate: interrupted by ${interrupts.received} while acquiring ${lock2}`);
      return signalExitCode(interrupts.received ?? "SIGTERM");
    }
    grant = acquired.grant;
  } finally {
    interrupts.uninstall();
  }
  if (inGitHubActions(env)) {
    if (env.GITHUB_OUTPUT) {
      writeStepOutputs(env.GITHUB_OUTPUT, {
        token: grant.token,
        "fencing-token": grant.fencingToken,
        "expires-at": grant.expiresAt,
        holder: grant.holder ?? holder3
      });
    }
    await delay(MASK_SETTLE_MS);
  }
  io.stdout.write(values.json ? jsonText(grant) : grantAssignments(grant, holder3));
  return 0;
}
function grantAssignments(grant, holder3) {
  return assignments([
    ["LEASEGATE_LOCK", grant.name],
    ["LEASEGATE_LOCK_TOKEN", grant.token],
    ["LEASEGATE_FENCING_TOKEN", grant.fencingToken],
    ["LEASEGATE_HOLDER", grant.holder ?? holder3],
    ["LEASEGATE_SUBJECT", grant.subject],
    ["LEASEGATE_EXPIRES_AT", grant.expiresAt],
    ["LEASEGATE_TTL_SECONDS", grant.ttlSeconds]
  ]);
}
var MASK_SETTLE_MS;
var init_acquire_command = __esm({
  "src/cli/acquire-command.ts"() {
    "use strict";
    init_args();
    init_connection();
    init_duration();
    init_exit_codes();
    init_github_actions();
    init_holder_label();
    init_holder();
    init_interrupts();
    init_output();
    init_release();
    init_wait();
    MASK_SETTLE_MS = 200;
  }
});

// src/locks/lock-token-format.ts
function isLockTokenShaped(text3) {
  if (text3.length > LOCK_TOKEN_MAX_LENGTH || !LOCK_TOKEN_PATTERN.test(text3)) return false;
  const [, , secret, identity, mac] = text3.split(".");
  return isCanonicalBase64url(secret) && isCanonicalBase64url(identity) && isCanonicalBase64url(mac);
}
var LOCK_TOKEN_PREFIX, LOCK_TOKEN_MAX_LENGTH, LOCK_TOKEN_PATTERN;
var init_lock_token_format = __esm({
  "src/locks/lock-token-format.ts"() {
    "use strict";
    init_base64url();
    LOCK_TOKEN_PREFIX = "lg2";
    LOCK_TOKEN_MAX_LENGTH = 3072;
    LOCK_TOKEN_PATTERN = /^lg2\.[0-9]{1,20}\.[A-Za-z0-9_-]{43}\.[A-Za-z0-9_-]{2,2900}\.[A-Za-z0-9_-]{43}$/;
  }
});

// src/cli/lock-token.ts
function lockTokenArgument(command2, values, env) {
  const token = (stringOption(values, "lock-token") ?? env.LEASEGATE_LOCK_TOKEN)?.trim();
  if (!token) throw usageError(`${command2}: no lock token: pass --lock-token or set LEASEGATE_LOCK_TOKEN (acquire prints it)`);
  if (!isLockTokenShaped(token)) throw usageError(`${command2}: the lock token is not a leasegate lock token (${LOCK_TOKEN_PREFIX}.\u2026)`);
  return token;
}
var init_lock_token = __esm({
  "src/cli/lock-token.ts"() {
    "use strict";
    init_lock_token_format();
    init_args();
    init_errors();
  }
});

// src/cli/renew-command.ts
var renew_command_exports = {};
__export(renew_command_exports, {
  renewCommand: () => renewCommand
});
async function renewCommand(ctx) {
  const { values, env, io } = ctx;
  const lock2 = lockArgument("renew", ctx.positionals);
  const token = lockTokenArgument("renew", values, env);
  if (inGitHubActions(env)) io.stderr.write(maskCommand(token));
  const ttlText = stringOption(values, "ttl");
  const ttlSeconds = ttlText === void 0 ? void 0 : parseTtlSeconds(ttlText);
  const client = connect(values, env);
  let grant;
  try {
    grant = await client.renew(lock2, token, { ttlSeconds });
  } catch (err) {
    throw failure(err, `renew ${lock2}`, client.credentials.source);
  }
  const { token: _secret, ...visible } = grant;
  io.stdout.write(
    values.json ? jsonText(visible) : assignments([
      ["LEASEGATE_LOCK", grant.name],
      ["LEASEGATE_FENCING_TOKEN", grant.fencingToken],
      ["LEASEGATE_EXPIRES_AT", grant.expiresAt],
      ["LEASEGATE_TTL_SECONDS", grant.ttlSeconds]
    ])
  );
  return 0;
}
var init_renew_command = __esm({
  "src/cli/renew-command.ts"() {
    "use strict";
    init_args();
    init_connection();
    init_duration();
    init_failures();
    init_github_actions();
    init_lock_token();
    init_output();
  }
});

// src/cli/release-command.ts
var release_command_exports = {};
__export(release_command_exports, {
  releaseCommand: () => releaseCommand
});
async function releaseCommand(ctx) {
  const { values, env, io } = ctx;
  const lock2 = lockArgument("release", ctx.positionals);
  const token = lockTokenArgument("release", values, env);
  if (inGitHubActions(env)) io.stderr.write(maskCommand(token));
  const client = connect(values, env);
  let released;
  try {
    ({ released } = await client.release(lock2, token));
  } catch (err) {
    throw failure(err, `release ${lock2}`, client.credentials.source);
  }
  io.stdout.write(values.json ? jsonText({ released }) : `released=${displayText(released)}
`);
  if (!released) io.stderr.write(`leasegate: ${lock2} was already released or had expired
`);
  return 0;
}
var init_release_command = __esm({
  "src/cli/release-command.ts"() {
    "use strict";
    init_args();
    init_connection();
    init_display_text();
    init_failures();
    init_github_actions();
    init_lock_token();
    init_output();
  }
});

// src/cli/status-command.ts
var status_command_exports = {};
__export(status_command_exports, {
  describeState: () => describeState,
  expiresIn: () => expiresIn,
  statusCommand: () => statusCommand
});
async function statusCommand(ctx) {
  const { values, env, io } = ctx;
  const lock2 = lockArgument("status", ctx.positionals);
  const client = connect(values, env);
  let state;
  try {
    state = await client.state(lock2);
  } catch (err) {
    if (err instanceof LockNotFoundError) {
      state = { name: lock2, namespace: "", status: "free", ttlSeconds: 0, transitions: 0, metadata: {} };
    } else {
      throw failure(err, `status ${lock2}`, client.credentials.source);
    }
  }
  io.stdout.write(values.json ? jsonText(state) : describeState(state));
  return 0;
}
function describeState(state, now = Date.now()) {
  const rows = [
    ["lock", state.name],
    ["status", state.status],
    ["holder", state.holder],
    ["subject", state.subject],
    ["fencing token", state.fencingToken],
    ["expires", state.expiresAt && `${formatInstant(state.expiresAt)} (${relativeExpiry(state, now)})`],
    ["acquired", state.acquiredAt && formatInstant(state.acquiredAt)],
    ["renewed", state.renewedAt && formatInstant(state.renewedAt)],
    ["ttl", state.status === "free" || !state.ttlSeconds ? void 0 : `${state.ttlSeconds}s`],
    ["transitions", state.namespace ? String(state.transitions) : void 0],
    ["force-released", state.forcedRelease && `by ${state.forcedRelease.by} at ${formatInstant(state.forcedRelease.at)}`],
    ["waiters", typeof state.waiters === "number" && state.waiters > 0 ? String(state.waiters) : void 0],
    // The line as the gateway lists it, first in line first.
    ...(Array.isArray(state.queue) ? state.queue : []).filter((waiter) => typeof waiter === "object" && waiter !== null).map((waiter, index) => [`in line ${index + 1}`, describeWaiter(waiter)]),
    ...Object.entries(state.metadata ?? {}).map(([k, v]) => [`metadata ${displayText(k)}`, v])
  ];
  const shown = rows.filter((r) => r[1] !== void 0 && r[1] !== "").map(([label, value]) => [label, displayText(value)]);
  const width = Math.max(...shown.map(([k]) => k.length)) + 1;
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width + 1)}${v}
`).join("");
}
function describeWaiter(waiter) {
  const who = waiter.holder && waiter.subject ? `${waiter.holder} (${waiter.subject})` : waiter.holderIdentity ?? waiter.subject ?? "?";
  return waiter.waitingSince ? `${who} since ${formatInstant(waiter.waitingSince)}` : who;
}
function expiresIn(state, now = Date.now()) {
  if (state.status === "free" || !state.expiresAt) return "-";
  const left = Date.parse(state.expiresAt) - now;
  return left >= 0 ? formatDuration(left) : `expired ${formatDuration(-left)} ago`;
}
function relativeExpiry(state, now) {
  const text3 = expiresIn(state, now);
  return text3.startsWith("expired") || text3 === "-" ? text3 : `in ${text3}`;
}
var init_status_command = __esm({
  "src/cli/status-command.ts"() {
    "use strict";
    init_args();
    init_errors2();
    init_connection();
    init_display_text();
    init_duration();
    init_failures();
    init_output();
    init_instant();
  }
});

// src/cli/list-command.ts
var list_command_exports = {};
__export(list_command_exports, {
  listCommand: () => listCommand
});
async function listCommand(ctx) {
  const { values, env, io } = ctx;
  if (ctx.positionals.length > 0) throw usageError(`list: unexpected argument "${ctx.positionals[0]}"`);
  const prefix = stringOption(values, "prefix");
  if (prefix !== void 0 && !/^[a-z0-9.-]*$/.test(prefix)) throw usageError("list: --prefix may contain only lower-case letters, digits, '-' and '.'");
  const client = connect(values, env);
  const items = [];
  try {
    let continueToken;
    do {
      const page = await client.list({ prefix, limit: PAGE, continueToken });
      items.push(...page.items);
      continueToken = page.continue;
    } while (continueToken);
  } catch (err) {
    throw failure(err, "list", client.credentials.source);
  }
  items.sort((a, b) => a.name.localeCompare(b.name));
  if (values.json) {
    io.stdout.write(jsonText({ items }));
    return 0;
  }
  if (items.length === 0) {
    io.stderr.write(`leasegate: no locks${prefix ? ` starting with "${prefix}"` : ""} that you may read
`);
    return 0;
  }
  const now = Date.now();
  io.stdout.write(
    table(
      ["NAME", "STATUS", "HOLDER", "SUBJECT", "EXPIRES IN"],
      items.map((s) => [s.name, s.status, s.holder ?? "-", s.subject ?? "-", expiresIn(s, now)].map(displayText))
    )
  );
  return 0;
}
var PAGE;
var init_list_command = __esm({
  "src/cli/list-command.ts"() {
    "use strict";
    init_args();
    init_connection();
    init_display_text();
    init_errors();
    init_failures();
    init_output();
    init_status_command();
    PAGE = 500;
  }
});

// src/cli/main.ts
init_args();
init_display_text();
init_errors();
init_exit_codes();

// src/cli/help.ts
init_exit_codes();
var CONNECTION = `Gateway and credentials (every subcommand):
  --url URL                    gateway URL, https:// (http:// for loopback only; env LEASEGATE_URL)
  --token JWT                  bearer token (env LEASEGATE_TOKEN)
  --audience AUD               audience of GitHub Actions OIDC tokens (env LEASEGATE_AUDIENCE; default leasegate)
  --gitlab-id-token-var NAME   read the JWT from env var NAME, as GitLab id_tokens: sets it
                               (env LEASEGATE_GITLAB_ID_TOKEN_VAR)
  -h, --help                   this help
Without --token, leasegate uses GitHub Actions' OIDC token (needs permissions: id-token: write),
fetching a fresh one for every request.`;
var EXIT_CODES = `Exit codes: ${ExitCode.notAcquired} not acquired within --wait, ${ExitCode.lockLost} lock lost, ${ExitCode.unavailable} gateway unreachable or unavailable,
  ${ExitCode.usage} usage/configuration/authorization error, ${ExitCode.internal} unexpected error.`;
var TOP = `leasegate: distributed locks for CI pipelines and scripts, through a leasegate gateway.

Usage: leasegate <subcommand> [options]

Subcommands:
  run <lock> -- <command...>   run a command while holding the lock (renewed in the background)
  acquire <lock>               acquire and print the grant (you renew and release it)
  renew <lock>                 extend a grant
  release <lock>               release a grant
  status <lock>                show a lock's state
  list                         list locks

Run 'leasegate <subcommand> --help' for its options.

${CONNECTION}

${EXIT_CODES}
Documentation: docs/cli.md`;
var HELP = {
  run: `Usage: leasegate run <lock> [options] -- <command> [args...]

Acquires <lock>, waiting in line for it (first come, first served; the progress line shows the
place in line and the holder), runs the command with the lock held, renews it every ttl/3, and
releases it when the command ends. Leaves the line when --wait runs out or on a signal.
The command gets LEASEGATE_LOCK, LEASEGATE_FENCING_TOKEN, LEASEGATE_HOLDER and
LEASEGATE_EXPIRES_AT. If the lock is lost, the command gets SIGTERM (SIGKILL after --grace) and
leasegate exits ${ExitCode.lockLost}. SIGINT, SIGTERM and SIGHUP are forwarded to it.
Exits with the command's exit code (128+N if it died of signal N).

Options:
  --ttl DURATION               lifetime of the grant between renewals (default 60s)
  --wait DURATION              how long to wait in line for the lock (default 15m; 0 = try once)
  --holder LABEL               label shown to others (default: the CI job, or user@host)
  --grace DURATION             time between SIGTERM and SIGKILL when the lock is lost (default 10s)
  --idempotency-key KEY        a retried acquire with the same key gets the same grant back

${CONNECTION}

${EXIT_CODES}`,
  acquire: `Usage: leasegate acquire <lock> [options]

Acquires <lock> and prints the grant as shell assignments (LEASEGATE_LOCK, LEASEGATE_LOCK_TOKEN,
LEASEGATE_FENCING_TOKEN, LEASEGATE_HOLDER, LEASEGATE_EXPIRES_AT, LEASEGATE_TTL_SECONDS), or as JSON.
The lock token is a secret: renew and release need it. In GitHub Actions it is also written to
the step outputs token, fencing-token, expires-at and holder, and masked in the log.
Nothing renews the grant: renew it before it expires, and release it.

Options:
  --ttl DURATION               lifetime of the grant (default 60s)
  --wait DURATION              how long to wait in line for the lock (default 0: try once)
  --holder LABEL               label shown to others
  --idempotency-key KEY        a retried acquire with the same key gets the same grant back
  --json                       print the grant as JSON

${CONNECTION}

${EXIT_CODES}`,
  renew: `Usage: leasegate renew <lock> [--lock-token TOKEN] [--ttl DURATION] [--json]

Extends a grant; the fencing token stays the same. Exits ${ExitCode.lockLost} if the lock was lost.

Options:
  --lock-token TOKEN           the lock token from acquire (env LEASEGATE_LOCK_TOKEN)
  --ttl DURATION               new lifetime from now (default: the grant's)
  --json                       print the grant as JSON

${CONNECTION}`,
  release: `Usage: leasegate release <lock> [--lock-token TOKEN] [--json]

Releases a grant. Releasing twice is harmless (prints released=false). Exits ${ExitCode.lockLost} if
someone else holds the lock now.

Options:
  --lock-token TOKEN           the lock token from acquire (env LEASEGATE_LOCK_TOKEN)
  --json                       print {"released": true|false}

${CONNECTION}`,
  status: `Usage: leasegate status <lock> [--json]

Shows a lock's state: held, expired or free, the holder, its subject and when it expires.
A lock that was never acquired is shown as free.

Options:
  --json                       print the state as JSON

${CONNECTION}`,
  list: `Usage: leasegate list [--prefix PREFIX] [--json]

Lists the locks you may read: name, status, holder, subject, expires in.

Options:
  --prefix PREFIX              only locks whose name starts with PREFIX
  --json                       print {"items": [...]} as JSON

${CONNECTION}`
};
function helpText(command2) {
  return `${command2 ? HELP[command2] : TOP}
`;
}

// src/cli/main.ts
init_version();
var HANDLERS = {
  run: async () => (await Promise.resolve().then(() => (init_run_command(), run_command_exports))).runCommand,
  acquire: async () => (await Promise.resolve().then(() => (init_acquire_command(), acquire_command_exports))).acquireCommand,
  renew: async () => (await Promise.resolve().then(() => (init_renew_command(), renew_command_exports))).renewCommand,
  release: async () => (await Promise.resolve().then(() => (init_release_command(), release_command_exports))).releaseCommand,
  status: async () => (await Promise.resolve().then(() => (init_status_command(), status_command_exports))).statusCommand,
  list: async () => (await Promise.resolve().then(() => (init_list_command(), list_command_exports))).listCommand
};
async function main(argv, env = process.env, io = process) {
  let command2;
  try {
    const invocation = parseInvocation(argv);
    switch (invocation.kind) {
      case "help":
        io.stdout.write(helpText(invocation.command));
        return ExitCode.ok;
      case "version":
        io.stdout.write(`leasegate ${CLI_VERSION}
`);
        return ExitCode.ok;
      case "command":
        command2 = invocation.command;
        return await (await HANDLERS[invocation.command]())({ ...invocation, env, io });
    }
  } catch (err) {
    if (err instanceof CliError) {
      io.stderr.write(`leasegate: ${displayText(err.message)}
`);
      if (err.showUsage) io.stderr.write(`Run 'leasegate ${command2 ? `${command2} ` : ""}--help' for usage.
`);
      return err.exitCode;
    }
    const text3 = err instanceof Error ? err.stack ?? err.message : String(err);
    io.stderr.write(`leasegate: unexpected error: ${text3.split("\n").map(displayText).join("\n")}
`);
    return ExitCode.internal;
  }
}

// src/action/main.ts
var input = (name) => (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();
var url = input("url");
var lock = input("lock");
var command = process.env.INPUT_COMMAND ?? "";
var workingDirectory = input("working-directory") || ".";
process.env.LEASEGATE_URL = url;
process.env.LEASEGATE_AUDIENCE = input("audience") || "leasegate";
process.chdir(workingDirectory);
var args = ["run", lock, "--ttl", input("ttl") || "60s", "--wait", input("wait") || "15m", "--grace", input("grace") || "10s"];
var holder2 = input("holder");
if (holder2) args.push("--holder", holder2);
args.push("--", "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command);
process.exitCode = await main(args);
