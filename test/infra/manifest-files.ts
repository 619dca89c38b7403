import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { loadAllYaml } from "@kubernetes/client-node";

/** The repository's Kubernetes manifests, parsed as kubectl would read them. */
export const ROOT = new URL("../..", import.meta.url).pathname;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type KubeObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string }; [field: string]: any };

/** Every document of a manifest file (path from the repository root). */
export function manifestObjects(path: string): KubeObject[] {
  return loadAllYaml(readFileSync(join(ROOT, path), "utf8")).filter(Boolean) as KubeObject[];
}

/** The one object of a kind (and name, if given) in a manifest file. */
export function manifestObject(path: string, kind: string, name?: string): KubeObject {
  const found = manifestObjects(path).filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  if (found.length !== 1) throw new Error(`${path}: ${found.length} objects of kind ${kind}${name ? ` named ${name}` : ""}, expected one`);
  return found[0]!;
}

/** Every YAML file under a folder of the repository, as paths from the repository root. */
export function yamlFilesUnder(folder: string): string[] {
  return readdirSync(join(ROOT, folder), { recursive: true, encoding: "utf8" })
    .filter((file) => /\.ya?ml$/.test(file))
    .map((file) => relative(ROOT, join(ROOT, folder, file)))
    .sort();
}

export const GATEWAY_MANIFEST = "infra/deploy/node/gateway.yaml";
