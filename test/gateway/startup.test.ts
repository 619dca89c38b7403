import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEST_TOKEN_KEY } from "../support/gateway.ts";
import { callGateway } from "../support/http.ts";

/**
 * How the gateway starts: the production entry (`node src/node.ts`) has no defaults and refuses
 * to start without a complete configuration; development mode is only what `npm start` runs,
 * and it stays on loopback with its own throw-away settings.
 */
const root = new URL("../..", import.meta.url).pathname;
const PRODUCTION_ENTRY = join(root, "src/node.ts");
const startScript = (JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as { scripts: { start: string } }).scripts.start;
const DEV_ENTRY = join(root, /^node (\S+)$/.exec(startScript)?.[1] ?? "npm start is not `node <file>`");
const DEV_FOLDER = dirname(DEV_ENTRY);

interface Exited {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Nothing of the test runner's environment (KUBECONFIG, LEASEGATE_*, HOST, PORT) leaks in. */
function cleanEnv(extra: Record<string, string>): Record<string, string> {
  return { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? "/tmp", TMPDIR: process.env.TMPDIR ?? "/tmp", ...extra };
}

function start(entry: string, env: Record<string, string>): ChildProcess {
  // Its own process group, so that whatever it started (a local cluster) can be stopped with it.
  return spawn(process.execPath, [entry], { cwd: root, env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"], detached: true });
}

/** Runs an entry that is expected to give up; one that is still running after a minute is killed and fails the test. */
function runToExit(entry: string, env: Record<string, string>): Promise<Exited> {
  const child = start(entry, env);
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const timer = setTimeout(() => process.kill(-child.pid!, "SIGKILL"), 60_000);
  return new Promise((resolveExit) => {
    child.once("close", (code) => {
      clearTimeout(timer);
      resolveExit({ code, stdout, stderr });
    });
  });
}

const validConfig = JSON.stringify({
  issuers: [{ issuer: "https://issuer.example", audiences: ["leasegate"], jwksUri: "https://issuer.example/jwks" }],
  policy: [],
});

describe("the production entry refuses to start without a complete configuration", () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), "leasegate-startup-"));
    writeFileSync(join(dir, "empty.json"), "");
    writeFileSync(join(dir, "blank.json"), "\n  \n");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const cases: Array<[string, () => Record<string, string>, RegExp]> = [
    ["no LEASEGATE_CONFIG at all", () => ({}), /^leasegate: LEASEGATE_CONFIG is not set/],
    ["an empty LEASEGATE_CONFIG", () => ({ LEASEGATE_CONFIG: "" }), /^leasegate: LEASEGATE_CONFIG is empty/],
    ["a whitespace-only LEASEGATE_CONFIG", () => ({ LEASEGATE_CONFIG: " \n\t " }), /^leasegate: LEASEGATE_CONFIG is empty/],
    ["an empty file (an empty ConfigMap key)", () => ({ LEASEGATE_CONFIG_FILE: join(dir, "empty.json") }), /^leasegate: LEASEGATE_CONFIG_FILE \(.*empty\.json\) is empty/],
    ["a file of blank lines", () => ({ LEASEGATE_CONFIG_FILE: join(dir, "blank.json") }), /^leasegate: LEASEGATE_CONFIG_FILE \(.*blank\.json\) is empty/],
    ["an empty LEASEGATE_CONFIG_FILE", () => ({ LEASEGATE_CONFIG_FILE: "" }), /^leasegate: LEASEGATE_CONFIG_FILE is empty/],
    ["a file that does not exist", () => ({ LEASEGATE_CONFIG_FILE: join(dir, "missing.json") }), /^leasegate: LEASEGATE_CONFIG_FILE \(.*missing\.json\) cannot be read/],
    ["JSON that does not parse", () => ({ LEASEGATE_CONFIG: "{ \"issuers\":\n[" }), /^leasegate: LEASEGATE_CONFIG is not valid JSON/],
    [
      "a configuration that names no cluster",
      () => ({ LEASEGATE_CONFIG: validConfig, LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY }),
      /^leasegate: no cluster configured: .*kubernetes\.kubeconfig.*KUBECONFIG/,
    ],
    [
      "inCluster outside a pod",
      () => ({ LEASEGATE_CONFIG: JSON.stringify({ ...JSON.parse(validConfig), kubernetes: { inCluster: true } }), LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY }),
      /^leasegate: LEASEGATE_CONFIG\.kubernetes\.inCluster: not running in a Kubernetes pod: KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT are not set/,
    ],
    [
      "a configuration that names no cluster, with an empty KUBECONFIG",
      () => ({ LEASEGATE_CONFIG: validConfig, LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY, KUBECONFIG: "" }),
      /^leasegate: no cluster configured/,
    ],
  ];

  it.each(cases)("%s: exit 1 with one line naming the setting, nothing served, no token", async (_, env, message) => {
    const result = await runToExit(PRODUCTION_ENTRY, env());
    expect(result.code, result.stderr).toBe(1);
    expect(result.stderr).toMatch(message);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stdout).not.toContain("listening");
    expect(result.stdout + result.stderr).not.toMatch(/TOKEN=|eyJ|throw-away issuer/);
  });
});

describe("development mode (npm start)", () => {
  it("is what npm start runs, from a folder of its own", () => {
    const folder = relative(root, DEV_FOLDER);
    expect(folder).toMatch(/^[a-z][\w-]*$/);
    expect(["src", "infra", "test", "bin"]).not.toContain(folder);
  });

  it.each(["0.0.0.0", "::", "192.0.2.10", "example.com"])("refuses HOST=%s before starting anything", async (host) => {
    const result = await runToExit(DEV_ENTRY, { HOST: host, PORT: "0" });
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toContain(`HOST=${JSON.stringify(host)} is not a loopback address`);
    expect(result.stderr.trimEnd().split("\n")).toHaveLength(1);
    expect(result.stdout).toBe("");
  });

  it.each([
    ["LEASEGATE_CONFIG", { LEASEGATE_CONFIG: validConfig }],
    ["LEASEGATE_CONFIG_FILE", { LEASEGATE_CONFIG_FILE: "/etc/leasegate/config.json" }],
    ["LEASEGATE_TOKEN_KEYS", { LEASEGATE_TOKEN_KEYS: TEST_TOKEN_KEY }],
  ])("refuses to run beside a production setting (%s) rather than mixing the two", async (name, env) => {
    const result = await runToExit(DEV_ENTRY, { ...env, PORT: "0" });
    expect(result.code, result.stderr).not.toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^leasegate: ${name} is set: \`npm start\` is development mode`));
    expect(result.stdout).toBe("");
  });

  it("starts its own cluster, prints a working token, serves locks on loopback and stops cleanly", { timeout: 240_000 }, async () => {
    // A KUBECONFIG in the developer's shell is not where development mode writes.
    const child = start(DEV_ENTRY, { PORT: "0", KUBECONFIG: "/nonexistent/kubeconfig" });
    let stderr = "";
    const exited = new Promise<number | null>((resolveExit) => child.once("exit", (code) => resolveExit(code)));
    try {
      const token = new Promise<string>((resolveToken) => {
        createInterface({ input: child.stderr! }).on("line", (line) => {
          stderr += `${line}\n`;
          const hint = /"hint":"export TOKEN=([^"]+)"/.exec(line);
          if (hint) resolveToken(hint[1]!);
        });
      });
      const url = await new Promise<string>((resolveUrl, reject) => {
        void exited.then((code) => reject(new Error(`npm start exited with ${code}:\n${stderr}`)));
        createInterface({ input: child.stdout! }).on("line", (line) => {
          const listening = /^\{"event":"listening","url":"([^"]+)"\}$/.exec(line);
          if (listening) resolveUrl(listening[1]!);
        });
      });
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

      const acquired = await callGateway(url, "POST", "/locks/startup-check/acquire", { jwt: await token, body: { holder: "startup-test", ttlSeconds: 30 } });
      expect(acquired.status, JSON.stringify(acquired.body)).toBe(200);
      expect(acquired.body).toMatchObject({ name: "startup-check", holder: "startup-test", subject: "dev-local" });
      expect(acquired.body.fencingToken).toMatch(/^\d+$/);

      child.kill("SIGTERM");
      expect(await exited).toBe(0);
      expect(stderr).toContain('"msg":"shutting down"');
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, "SIGKILL");
    }
  });
});

describe("the production code does not reach development code", () => {
  const importPattern = /\b(?:from|import)\s*\(?\s*["']([^"']+)["']/g;
  const relativeImports = (file: string) =>
    [...readFileSync(file, "utf8").matchAll(importPattern)].map((match) => match[1]!).filter((specifier) => specifier.startsWith("."));
  const filesUnder = (dir: string): string[] =>
    readdirSync(dir).flatMap((name) => {
      const path = join(dir, name);
      return statSync(path).isDirectory() ? filesUnder(path) : /\.[cm]?[jt]s$/.test(name) ? [path] : [];
    });
  const reachesInto = (file: string, folder: string) =>
    relativeImports(file).filter((specifier) => !relative(folder, resolve(dirname(file), specifier)).startsWith(".."));

  it("finds the imports it looks for (the development entry does import the local cluster)", () => {
    expect(reachesInto(DEV_ENTRY, join(root, "infra"))).not.toEqual([]);
    expect(relativeImports(PRODUCTION_ENTRY)).toContain("./gateway.ts");
  });

  it("no file under src/ imports from infra/ or from the development folder", () => {
    const offending = filesUnder(join(root, "src")).flatMap((file) =>
      [join(root, "infra"), DEV_FOLDER].flatMap((folder) => reachesInto(file, folder).map((specifier) => `${relative(root, file)} → ${specifier}`)),
    );
    expect(offending).toEqual([]);
  });
});
