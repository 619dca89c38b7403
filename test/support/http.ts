/** Small helpers for calling a running gateway as a client would. */
export interface Call {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

export async function callGateway(
  url: string,
  method: string,
  path: string,
  options: { jwt?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<Call> {
  const res = await fetch(`${url}${path}`, {
    method,
    headers: {
      ...(options.jwt ? { authorization: `Bearer ${options.jwt}` } : {}),
      ...(options.body !== undefined ? { "content-type": "application/json" } : {}),
      ...options.headers,
    },
    body: options.body === undefined ? undefined : typeof options.body === "string" ? options.body : JSON.stringify(options.body),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    body = { raw: text };
  }
  return { status: res.status, headers: res.headers, body };
}

/** The number of Kubernetes requests a response says it cost (Server-Timing). */
export function kubeRequests(call: Call): number {
  const match = /kube;desc="(\d+) requests"/.exec(call.headers.get("server-timing") ?? "");
  if (!match) throw new Error(`no kube request count in ${call.headers.get("server-timing")}`);
  return Number(match[1]);
}
