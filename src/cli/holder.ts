import { hostname, userInfo } from "node:os";
import { holderLabel } from "../client/holder-label.ts";

type Env = Record<string, string | undefined>;

/**
 * The label others see while we hold a lock: the CI job when there is one, else user@host.
 * The gateway records the authenticated subject separately; this is only for humans.
 */
export function defaultHolder(env: Env, pid = process.pid): string {
  let label: string;
  if (env.GITHUB_ACTIONS === "true" && env.GITHUB_REPOSITORY) {
    const url = env.GITHUB_SERVER_URL && env.GITHUB_RUN_ID ? ` ${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}` : "";
    label = `${env.GITHUB_REPOSITORY} ${env.GITHUB_WORKFLOW ?? "workflow"}/${env.GITHUB_JOB ?? "job"}${url}`;
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
