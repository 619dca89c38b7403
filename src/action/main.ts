import { main } from "../cli/main.ts";

/**
 * The GitHub Action (action.yml, `runs.using: node24`): the runner starts this with its own Node
 * and the action's inputs as INPUT_<NAME> variables; it runs `leasegate run` in this process. No
 * setup-node, no install step, and nothing changes the job's Node for later steps.
 */
const input = (name: string): string => (process.env[`INPUT_${name.toUpperCase()}`] ?? "").trim();

const url = input("url");
const lock = input("lock");
const command = process.env.INPUT_COMMAND ?? "";
const workingDirectory = input("working-directory") || ".";

// The CLI reads the gateway and the OIDC audience from its usual variables.
process.env.LEASEGATE_URL = url;
process.env.LEASEGATE_AUDIENCE = input("audience") || "leasegate";
process.chdir(workingDirectory);

const args = ["run", lock, "--ttl", input("ttl") || "60s", "--wait", input("wait") || "15m", "--grace", input("grace") || "10s"];
const holder = input("holder");
if (holder) args.push("--holder", holder);
// Like a `run:` step: bash without profiles, stopping at the first failing line or pipe.
args.push("--", "bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", command);

process.exitCode = await main(args);
