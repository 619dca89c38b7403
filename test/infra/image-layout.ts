import { execFile } from "node:child_process";
import { cpSync, mkdirSync, statSync } from "node:fs";
import { basename, join, posix } from "node:path";
import { promisify } from "node:util";
import { lastStep, readDockerfile, type Stage } from "./dockerfile.ts";
import { ROOT } from "./manifest-files.ts";

const exec = promisify(execFile);

export interface ImageLayout {
  /** The folder that stands for the image's `/`. */
  root: string;
  /** The final stage's WORKDIR, inside the image. */
  workdir: string;
  env: Record<string, string>;
  user: string | undefined;
  command: string[];
}

/**
 * The files the Dockerfile puts in the image, laid out in a folder instead of built by Docker:
 * each stage is a folder standing for its `/`; COPY takes from the repository (the build context)
 * or from an earlier stage; RUN runs in the stage's WORKDIR with this machine's tools. The base
 * image's own files are not there: this machine's Node stands in for the image's, which
 * container-image.test.ts holds to the same pinned version.
 */
export async function layOutImage(into: string, stages: Stage[] = readDockerfile()): Promise<ImageLayout> {
  const roots = new Map<string, string>();
  let layout: ImageLayout | undefined;
  for (const [index, stage] of stages.entries()) {
    const root = join(into, `stage-${index}`);
    mkdirSync(root, { recursive: true });
    let workdir = "/";
    const env: Record<string, string> = {};
    for (const step of stage.steps) {
      if (step.kind === "WORKDIR") {
        workdir = posix.resolve(workdir, step.path);
        mkdirSync(join(root, workdir), { recursive: true });
      } else if (step.kind === "COPY") {
        const from = step.from === undefined ? ROOT : roots.get(step.from);
        if (from === undefined) throw new Error(`COPY --from=${step.from}: no earlier stage of that name`);
        const destination = join(root, posix.resolve(workdir, step.destination));
        const intoFolder = step.destination.endsWith("/") || step.sources.length > 1;
        for (const source of step.sources) {
          const path = join(from, source);
          const target = statSync(path).isDirectory() || !intoFolder ? destination : join(destination, basename(source));
          cpSync(path, target, { recursive: true });
        }
      } else if (step.kind === "RUN") {
        await exec("sh", ["-c", step.command], {
          cwd: join(root, workdir),
          // Packages come from npm's cache when it has them; the command itself is the Dockerfile's.
          env: { ...process.env, npm_config_prefer_offline: "true", npm_config_audit: "false", npm_config_fund: "false", npm_config_update_notifier: "false" },
          maxBuffer: 16 * 1024 * 1024,
        });
      } else if (step.kind === "ENV") {
        Object.assign(env, step.variables);
      }
    }
    if (stage.name) roots.set(stage.name, root);
    layout = { root, workdir, env, user: lastStep(stage, "USER")?.user, command: lastStep(stage, "CMD")?.command ?? [] };
  }
  if (!layout) throw new Error("the Dockerfile has no stage");
  return layout;
}
