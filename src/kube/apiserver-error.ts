/**
 * The apiserver answered, with a status other than 2xx. `body` is the answer's text (a Kubernetes
 * Status, or whatever a proxy in front of it said); kube-errors.ts reads it.
 */
export class ApiserverError extends Error {
  readonly code: number;
  readonly body: string;

  constructor(code: number, body: string, what: string) {
    super(`the Kubernetes API answered ${code} to ${what}`);
    this.name = "ApiserverError";
    this.code = code;
    this.body = body;
  }
}
