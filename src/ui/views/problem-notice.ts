import type { ApiProblem } from "../lock-api.ts";
import { html, type Html } from "./html.ts";

/** What went wrong, in words for a person, from the JSON API's problem document. */
export function problemMessage(problem: ApiProblem, subject: { lock?: string }): string {
  switch (problem.code) {
    case "unauthenticated":
      return "The gateway did not accept this sign-in (expired, or from an issuer it does not trust).";
    case "forbidden":
      return subject.lock === undefined ? "This identity may not read any lock." : `This identity may not read the lock ${subject.lock}.`;
    case "lock_not_found":
      return `There is no lock named ${subject.lock ?? "so"}.`;
    case "invalid_request": {
      const rules = (problem.errors ?? []).map((e) => `${(e.path ?? "").replace(/^(query|param)\./, "")} ${e.message ?? ""}`.trim());
      return rules.length > 0 ? `Not a valid request: ${rules.join("; ")}.` : `Not a valid request: ${problem.detail ?? problem.code}.`;
    }
    case "backend_unavailable":
      return "Kubernetes is not reachable right now; the page tries again at the next update.";
    default:
      return `The gateway answered ${problem.status} (${problem.code}).`;
  }
}

export function problemNotice(problem: ApiProblem, subject: { lock?: string }): Html {
  return html`<div class="notice notice-error"><p><strong>Could not load.</strong> ${problemMessage(problem, subject)}</p></div>`;
}
