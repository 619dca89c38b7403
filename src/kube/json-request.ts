import { ApiserverError } from "./apiserver-error.ts";
import type { ApiserverRequestInit, ApiserverTransport } from "./apiserver-transport.ts";
import { escapeLikeGo } from "./go-json-escaping.ts";
import { withDeadline } from "./request-deadline.ts";

export interface JsonRequest {
  method: ApiserverRequestInit["method"];
  path: string;
  body?: unknown;
  /** `application/json` unless a patch says otherwise. */
  contentType?: string;
}

/** A request's answer, read whole: its status and body text, whatever the status. */
export interface JsonExchange {
  status: number;
  text: string;
}

/**
 * Sends one JSON request and reads its whole answer under one deadline (headers and body): the
 * body escaped as Go writes JSON, `Accept: application/json`. No answer in time throws the
 * deadline's TimeoutError; any status is returned as it came.
 */
export async function exchangeJson(transport: ApiserverTransport, timeoutMs: number, request: JsonRequest): Promise<JsonExchange> {
  const headers: Record<string, string> = { accept: "application/json" };
  let body: string | undefined;
  if (request.body !== undefined) {
    headers["content-type"] = request.contentType ?? "application/json";
    body = escapeLikeGo(JSON.stringify(request.body));
  }
  return withDeadline(timeoutMs, async (signal) => {
    const response = await transport(request.path, { method: request.method, headers, body, signal });
    return { status: response.status, text: await response.text() };
  });
}

/**
 * One JSON request and its JSON answer, as plain objects: no generated models or serializer, so
 * a Lease costs what parsing its JSON costs. A status other than 2xx throws ApiserverError.
 */
export async function requestJson<T>(transport: ApiserverTransport, timeoutMs: number, request: JsonRequest): Promise<T> {
  const { status, text } = await exchangeJson(transport, timeoutMs, request);
  if (status < 200 || status > 299) throw new ApiserverError(status, text, `${request.method} ${request.path.split("?")[0]}`);
  return JSON.parse(text) as T;
}
