/**
 * Which part of the code a V8 CPU profile frame belongs to (the gateway's own folders, the
 * packages it uses, Node's HTTP stack, crypto, GC, module loading), and how to name its place
 * in a report: a path relative to the repository, or a package's name for node_modules.
 */
import { fileURLToPath } from "node:url";

/** The areas, in the order the report lists them; "other" takes what none of the others claims. */
export const CODE_AREAS = [
  "src/http",
  "src/auth",
  "src/locks",
  "src/kube",
  "src/metrics",
  "src/history",
  "other src",
  "hono (+@hono/*)",
  "zod",
  "jose",
  "@kubernetes/client-node",
  "undici",
  "Node HTTP server, sockets, streams",
  "crypto",
  "GC",
  "module loading",
  "other",
] as const;
export type CodeArea = (typeof CODE_AREAS)[number];

/** What each area covers, for the report's legend. */
export const CODE_AREA_SCOPE: Record<CodeArea, string> = {
  "src/http": "routes, validation hooks, problem documents, the access log middleware",
  "src/auth": "JWT authentication, the verified-token cache, policy",
  "src/locks": "the lock service, lock tokens, the store interface",
  "src/kube": "the Lease adapter and its transports",
  "src/metrics": "Prometheus metrics",
  "src/history": "lock history Events",
  "other src": "every other file under src/ (the Node entry, the stderr log, event sinks, ...)",
  "hono (+@hono/*)": "`hono`, `@hono/node-server` (Node request/response adapter), `@hono/zod-openapi`",
  zod: "`zod`",
  jose: "`jose` (JWT verification around WebCrypto)",
  "@kubernetes/client-node": "`@kubernetes/client-node`",
  undici: "the `undici` package and Node's bundled copy behind `fetch` (`node:internal/deps/undici`)",
  "Node HTTP server, sockets, streams": "`node:_http_*`, `node:http`, `node:http2` (undici speaks HTTP/2 to the apiserver), TLS, `node:net`, stream internals (Node and web streams); sockets and streams serve undici's connections too",
  crypto: "`node:internal/crypto/*`: node:crypto's SHA-256 and HMAC, computed on the main thread, and the main thread's part of WebCrypto calls (jose's signature checks, whose jobs run on the libuv thread pool, see below)",
  GC: "`(garbage collector)`: the main thread's share of garbage collection",
  "module loading": "`node:internal/modules/*`, type stripping (`amaro`), the CommonJS lexer, internal module compilation",
  other: "everything else: timers, events, promises' task queue, URL, Buffer, `(program)` (V8 and native code not attributed to a function)",
};

/** The place of the checkout, with a trailing slash: frames under it are named relative to it. */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

export interface Frame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** The file system path of a frame's script, when it is a file. */
function pathOf(url: string): string | undefined {
  if (url.startsWith("file://")) {
    try {
      return fileURLToPath(url);
    } catch {
      return undefined;
    }
  }
  return url.startsWith("/") ? url : undefined;
}

/** The package (`@scope/name` or `name`) of the innermost node_modules folder a path is in, and the file's path inside it. */
function packageOf(path: string): { name: string; file: string } | undefined {
  const at = path.lastIndexOf("/node_modules/");
  if (at < 0) return undefined;
  const parts = path.slice(at + "/node_modules/".length).split("/");
  const scoped = parts[0]?.startsWith("@") ?? false;
  const name = scoped ? `${parts[0]}/${parts[1]}` : (parts[0] ?? "");
  return { name, file: parts.slice(scoped ? 2 : 1).join("/") };
}

const SRC_AREAS: Record<string, CodeArea> = {
  http: "src/http",
  auth: "src/auth",
  locks: "src/locks",
  kube: "src/kube",
  metrics: "src/metrics",
  history: "src/history",
};

const NODE_HTTP = [/^node:_http_/, /^node:https?$/, /^node:http2$/, /^node:internal\/http2\//, /^node:_tls_/, /^node:tls$/, /^node:net$/, /^node:internal\/net$/, /^node:internal\/stream_base_commons$/, /^node:stream$/, /^node:internal\/streams\//, /^node:internal\/webstreams\//];
const MODULE_LOADING = [/^node:internal\/modules\//, /^node:internal\/deps\/amaro\//, /^node:internal\/deps\/cjs-module-lexer\//, /^node:internal\/bootstrap\/realm$/];

/**
 * The area of a frame's own code; undefined for frames that have none of their own (native
 * functions, WebAssembly, the root): their time belongs to whoever called them.
 */
export function areaOf(frame: Frame): CodeArea | undefined {
  const { url, functionName } = frame;
  if (url === "") {
    if (functionName === "(garbage collector)") return "GC";
    if (functionName === "(program)") return "other";
    return undefined;
  }
  if (url.startsWith("wasm://")) return undefined;
  if (url.startsWith("node:")) {
    if (url.startsWith("node:internal/deps/undici/")) return "undici";
    if (url.startsWith("node:internal/crypto/")) return "crypto";
    if (NODE_HTTP.some((re) => re.test(url))) return "Node HTTP server, sockets, streams";
    if (MODULE_LOADING.some((re) => re.test(url))) return "module loading";
    return "other";
  }
  const path = pathOf(url);
  if (path === undefined) return "other";
  const pkg = packageOf(path)?.name;
  if (pkg !== undefined) {
    if (pkg === "hono" || pkg.startsWith("@hono/")) return "hono (+@hono/*)";
    if (pkg === "zod" || pkg === "undici" || pkg === "jose" || pkg === "@kubernetes/client-node") return pkg;
    return "other";
  }
  // The compiled gateway (dist/gateway, `npm run build`) mirrors src/ folder for folder.
  const source = [`${REPO_ROOT}src/`, `${REPO_ROOT}dist/gateway/`].find((root) => path.startsWith(root));
  if (source) {
    const folder = path.slice(source.length).split("/")[0] ?? "";
    return SRC_AREAS[folder] ?? "other src";
  }
  return "other";
}

/** Where a frame's code is, for a reader: `src/http/app.ts:47`, `hono › dist/compose.js:22`, `node:net:1234`, `(native)`. */
export function placeOf(frame: Frame): string {
  const { url, lineNumber } = frame;
  const line = lineNumber >= 0 ? `:${lineNumber + 1}` : "";
  if (url === "") return "(native)";
  if (url.startsWith("wasm://")) return "(WebAssembly)";
  if (url.startsWith("node:")) return `${url}${line}`;
  const path = pathOf(url);
  if (path === undefined) return url;
  const pkg = packageOf(path);
  if (pkg !== undefined) return `${pkg.name} › ${pkg.file}${line}`;
  return path.startsWith(REPO_ROOT) ? `${path.slice(REPO_ROOT.length)}${line}` : `${path}${line}`;
}
