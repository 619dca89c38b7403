import { readFileSync } from "node:fs";

/**
 * The repository's Dockerfile, read as far as the tests need it: stages, and in each the
 * instructions in order. Only the instructions it uses are understood; any other one is an error,
 * so a new kind of step cannot slip past the checks unread.
 */
export type Step =
  | { kind: "WORKDIR"; path: string }
  | { kind: "COPY"; from?: string; sources: string[]; destination: string }
  | { kind: "RUN"; command: string }
  | { kind: "ENV"; variables: Record<string, string> }
  | { kind: "EXPOSE"; ports: string[] }
  | { kind: "USER"; user: string }
  | { kind: "CMD"; command: string[] };

export interface Stage {
  image: string;
  name?: string;
  steps: Step[];
}

export const DOCKERFILE = new URL("../../Dockerfile", import.meta.url);
export const DOCKERIGNORE = new URL("../../.dockerignore", import.meta.url);

export function readDockerfile(text = readFileSync(DOCKERFILE, "utf8")): Stage[] {
  const stages: Stage[] = [];
  // A trailing backslash continues an instruction on the next line; comments are whole lines.
  const lines = text.split("\n").filter((line) => !/^\s*#/.test(line)).join("\n").replace(/\\\n/g, " ").split("\n");
  for (const line of lines.map((l) => l.trim()).filter(Boolean)) {
    const [, keyword = "", rest = ""] = /^(\S+)\s*(.*)$/.exec(line) ?? [];
    if (keyword.toUpperCase() === "FROM") {
      const [, image = "", name] = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(rest) ?? [];
      stages.push({ image, name, steps: [] });
      continue;
    }
    const stage = stages.at(-1);
    if (!stage) throw new Error(`Dockerfile: ${keyword} before the first FROM`);
    stage.steps.push(step(keyword.toUpperCase(), rest));
  }
  return stages;
}

function step(keyword: string, rest: string): Step {
  switch (keyword) {
    case "WORKDIR":
      return { kind: "WORKDIR", path: rest };
    case "COPY": {
      const words = rest.split(/\s+/);
      const flags = words.filter((w) => w.startsWith("--"));
      const unknown = flags.filter((f) => !f.startsWith("--from="));
      if (unknown.length > 0) throw new Error(`Dockerfile: COPY ${unknown.join(" ")} is not understood here`);
      const paths = words.filter((w) => !w.startsWith("--"));
      const from = flags.find((f) => f.startsWith("--from="))?.slice("--from=".length);
      return { kind: "COPY", from, sources: paths.slice(0, -1), destination: paths.at(-1)! };
    }
    case "RUN":
      return { kind: "RUN", command: rest };
    case "ENV":
      return { kind: "ENV", variables: Object.fromEntries(rest.split(/\s+/).map((pair) => [pair.slice(0, pair.indexOf("=")), pair.slice(pair.indexOf("=") + 1)])) };
    case "EXPOSE":
      return { kind: "EXPOSE", ports: rest.split(/\s+/) };
    case "USER":
      return { kind: "USER", user: rest };
    case "CMD":
      // The exec form only: the shell form would start a shell, and signals would reach it, not Node.
      return { kind: "CMD", command: JSON.parse(rest) as string[] };
    default:
      throw new Error(`Dockerfile: ${keyword} is not understood here`);
  }
}

/** The last step of a kind in a stage (later ones override earlier ones, as in a build). */
export function lastStep<K extends Step["kind"]>(stage: Stage, kind: K): Extract<Step, { kind: K }> | undefined {
  return stage.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind).at(-1);
}

/** Every COPY of the build context (not from another stage), across all stages. */
export function contextCopies(stages: Stage[]): Extract<Step, { kind: "COPY" }>[] {
  return stages.flatMap((stage) => stage.steps).filter((s): s is Extract<Step, { kind: "COPY" }> => s.kind === "COPY" && s.from === undefined);
}
