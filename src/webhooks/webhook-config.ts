import { z } from "zod";
import { webhookUrlProblem } from "./endpoint-url.ts";
import { WEBHOOK_EVENT_TYPES } from "./webhook-payload.ts";

/**
 * The `webhooks` setting: where lock events are sent, signed as Standard Webhooks
 * (https://www.standardwebhooks.com). One entry per receiving endpoint; the signing secret comes
 * from the environment variable the entry names, never from the configuration itself.
 */
export const webhookEndpointSchema = z
  .object({
    /** Names the endpoint in logs and metrics; the URL's host when not given. Never the URL, whose path may be a secret. */
    name: z
      .string()
      .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be 1-63 letters, digits, '_', '.' or '-', starting with a letter or digit")
      .optional(),
    url: z.string().max(2048),
    /** Name of the environment variable holding the signing secret `whsec_<base64>` (several, space-separated, while rotating). */
    secretEnv: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, "must be an environment variable name (A-Z, 0-9, _)"),
    /** Event types sent to this endpoint; all of them when not given. */
    events: z.array(z.enum(WEBHOOK_EVENT_TYPES)).min(1).optional(),
    /** Lock-name globs (`*` any run, `?` one character): only events of matching locks are sent. */
    locks: z.array(z.string().min(1).max(512)).min(1).default(["*"]),
    /** Allows plain http to a host other than loopback (a receiver on a trusted private network). */
    allowInsecureHttp: z.boolean().default(false),
    /** Time one attempt may take until the receiver's answer (status and headers) arrives. */
    timeoutMs: z.number().int().min(100).max(30_000).default(5_000),
    /** Attempts per message, the first included. */
    maxAttempts: z.number().int().min(1).max(10).default(4),
    /**
     * Time from the lock answer to the end of a message's last attempt. The default fits a Worker,
     * which keeps work after a response alive for about 30 seconds; a Node gateway may wait longer.
     */
    giveUpAfterSeconds: z.number().int().min(1).max(3_600).default(25),
    /** Messages for this endpoint that may be in flight or waiting for a retry at once; more are dropped and counted. */
    maxQueued: z.number().int().min(1).max(10_000).default(500),
  })
  .strict()
  .superRefine((endpoint, context) => {
    const problem = webhookUrlProblem(endpoint.url, endpoint.allowInsecureHttp);
    if (problem !== null) context.addIssue({ code: "custom", path: ["url"], message: problem });
  })
  .transform((endpoint) => ({ ...endpoint, name: endpoint.name ?? new URL(endpoint.url).host }));

export const webhooksConfigSchema = z
  .array(webhookEndpointSchema)
  .max(16)
  .default([])
  .superRefine((endpoints, context) => {
    const seen = new Set<string>();
    endpoints.forEach((endpoint, index) => {
      if (seen.has(endpoint.name)) {
        context.addIssue({ code: "custom", path: [index, "name"], message: `another endpoint is already named ${endpoint.name}: give each its own name` });
      }
      seen.add(endpoint.name);
    });
  });

export type WebhookEndpointConfig = z.infer<typeof webhookEndpointSchema>;
export type WebhooksConfig = z.infer<typeof webhooksConfigSchema>;
