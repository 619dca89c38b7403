import { appendFileSync } from "node:fs";
import { randomUUID } from "node:crypto";

type Env = Record<string, string | undefined>;

/** Whether this process runs as a GitHub Actions step. */
export function inGitHubActions(env: Env): boolean {
  return env.GITHUB_ACTIONS === "true" || Boolean(env.GITHUB_OUTPUT);
}

/**
 * The workflow command that hides `secret` in the rest of the job's log. Written to stderr
 * so that stdout stays parseable (`eval`, `jq`); the runner reads commands from both. The secret
 * comes from the gateway: it is escaped as workflow command data (`%`, CR, LF), so that it is
 * exactly one command whatever it contains.
 */
export function maskCommand(secret: string): string {
  return `::add-mask::${secret.replaceAll("%", "%25").replaceAll("\r", "%0D").replaceAll("\n", "%0A")}\n`;
}

/** Appends step outputs to $GITHUB_OUTPUT (multi-line safe). */
export function writeStepOutputs(file: string, outputs: Record<string, string | undefined>): void {
  let text = "";
  for (const [name, value] of Object.entries(outputs)) {
    if (value === undefined) continue;
    if (/[\r\n]/.test(value)) {
      const delimiter = `leasegate_${randomUUID()}`;
      text += `${name}<<${delimiter}\n${value}\n${delimiter}\n`;
    } else {
      text += `${name}=${value}\n`;
    }
  }
  appendFileSync(file, text);
}
