import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join, posix } from "node:path";
import { describe, expect, it } from "vitest";
import { contextCopies, DOCKERIGNORE, lastStep, readDockerfile } from "./dockerfile.ts";
import { GATEWAY_MANIFEST, manifestObject, ROOT } from "./manifest-files.ts";

/**
 * The Node gateway's image, checked where it can be without building it: what it is built from,
 * what it copies, and that it runs what the Deployment in infra/deploy/node/gateway.yaml expects.
 * test/infra/image-contents.test.ts runs the gateway from exactly these files.
 */
const stages = readDockerfile();
const final = stages.at(-1)!;
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as {
  engines: { node: string };
  devDependencies: { node: string };
  scripts: { build: string };
};
const buildConfig = JSON.parse(readFileSync(join(ROOT, "tsconfig.build.json"), "utf8")) as {
  include: string[];
  compilerOptions: { outDir: string; rootDir: string };
};
const pod = manifestObject(GATEWAY_MANIFEST, "Deployment", "leasegate").spec.template.spec;
const container = pod.containers.find((c: { name: string }) => c.name === "gateway");

/** Files a fresh clone of the repository has: nothing generated, installed or ignored. */
function checkedInFiles(): string[] {
  return execFileSync("git", ["ls-files", "-z"], { cwd: ROOT, encoding: "utf8" }).split("\0").filter(Boolean);
}

describe("the gateway's image", () => {
  it("is built on the Node the tests run on, the one package.json pins", () => {
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) {
      const [, version] = /^node:(\d+\.\d+\.\d+)-[a-z]+-slim$/.exec(stage.image) ?? [];
      expect(version, stage.image).toBe(pkg.devDependencies.node);
    }
    // The engines floor is the oldest Node the sources run on; the image's is not older.
    const [major] = pkg.devDependencies.node.split(".");
    const [, floor] = /^>=(\d+)\./.exec(pkg.engines.node) ?? [];
    expect(Number(major)).toBeGreaterThanOrEqual(Number(floor));
  });

  it("installs exactly the locked production dependencies and the compiled gateway, each from its own stage", () => {
    const install = stages.find((stage) => stage.steps.some((s) => s.kind === "RUN" && /\bnpm ci\b.*--omit=dev\b/.test(s.command)));
    expect(install, "a stage that runs npm ci --omit=dev").toBeDefined();
    const build = stages.find((stage) => stage.steps.some((s) => s.kind === "RUN" && /\btsc -p tsconfig\.build\.json$/.test(s.command)));
    expect(build, "a stage that compiles the gateway as npm run build does").toBeDefined();
    expect(pkg.scripts.build).toBe("tsc -p tsconfig.build.json");
    const copied = final.steps.filter((s) => s.kind === "COPY" && s.from !== undefined);
    expect(copied).toEqual([
      { kind: "COPY", from: install!.name, sources: ["/app/node_modules"], destination: "./node_modules" },
      { kind: "COPY", from: build!.name, sources: [`/app/${buildConfig.compilerOptions.outDir}`], destination: `./${buildConfig.compilerOptions.outDir}` },
    ]);
  });

  it("copies only files a fresh clone has, and its build context holds those and nothing else", () => {
    const files = checkedInFiles();
    const sources = contextCopies(stages).flatMap((copy) => copy.sources);
    for (const source of sources) {
      const path = posix.normalize(source).replace(/\/$/, "");
      expect(files.some((file) => file === path || file.startsWith(`${path}/`)), `${source} is in the repository`).toBe(true);
    }
    // .dockerignore leaves out everything, then lets back in what the Dockerfile copies.
    const patterns = readFileSync(DOCKERIGNORE, "utf8").split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"));
    expect(patterns[0]).toBe("*");
    expect(patterns.slice(1).sort()).toEqual([...new Set(sources)].map((s) => `!${s}`).sort());
  });

  it("starts the entry file that the Deployment's command starts: the Node entry, compiled", () => {
    const cmd = lastStep(final, "CMD")?.command;
    expect(cmd).toEqual(container.command);
    expect(cmd![0]).toBe("node");
    // tsc writes src/<path>.ts to <outDir>/<path>.js; the only file it is asked to compile is the Node entry.
    const { outDir, rootDir } = buildConfig.compilerOptions;
    expect(buildConfig.include).toEqual(["src/node.ts"]);
    expect(rootDir).toBe("src");
    expect(cmd![1]).toBe(posix.join(outDir, "node.js"));
    expect(existsSync(join(ROOT, "src/node.ts"))).toBe(true);
  });

  it("runs as the non-root user the Deployment runs it as, by number", () => {
    const user = lastStep(final, "USER")?.user;
    expect(user).toMatch(/^\d+:\d+$/);
    const [uid, gid] = user!.split(":").map(Number);
    expect(uid).toBe(pod.securityContext.runAsUser);
    expect(uid).not.toBe(0);
    expect(gid).not.toBe(0);
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container.securityContext.readOnlyRootFilesystem).toBe(true);
  });

  it("listens on the port the Deployment probes, on every interface of the pod", () => {
    const env = Object.assign({}, ...final.steps.filter((s) => s.kind === "ENV").map((s) => s.variables)) as Record<string, string>;
    const containerPort = container.ports.find((p: { name: string }) => p.name === "http").containerPort;
    expect(env).toMatchObject({ HOST: "0.0.0.0", PORT: String(containerPort) });
    expect(lastStep(final, "EXPOSE")?.ports).toEqual([String(containerPort)]);
  });
});
