import { describe, expect, it } from "vitest";
import { webhooksConfigSchema } from "../../src/webhooks/webhook-config.ts";

const endpoint = (fields: Record<string, unknown>) => ({ url: "https://hooks.example.com/leasegate", secretEnv: "HOOK_SECRET", ...fields });

/** The messages of the configuration errors, as the gateway reports them at start-up. */
function problems(webhooks: unknown): string[] {
  const parsed = webhooksConfigSchema.safeParse(webhooks);
  return parsed.success ? [] : parsed.error.issues.map((issue) => `${issue.path.join(".")}: ${issue.message}`);
}

describe("the webhooks configuration", () => {
  it("is an empty list unless given", () => {
    expect(webhooksConfigSchema.parse(undefined)).toEqual([]);
  });

  it("fills in every default, and names an endpoint after its host", () => {
    expect(webhooksConfigSchema.parse([endpoint({})])).toEqual([
      {
        name: "hooks.example.com",
        url: "https://hooks.example.com/leasegate",
        secretEnv: "HOOK_SECRET",
        locks: ["*"],
        allowInsecureHttp: false,
        timeoutMs: 5000,
        maxAttempts: 4,
        giveUpAfterSeconds: 25,
        maxQueued: 500,
      },
    ]);
  });

  it("takes event types and lock patterns to filter by", () => {
    const [parsed] = webhooksConfigSchema.parse([endpoint({ name: "chat-ops", events: ["lock.released", "lock.force_released"], locks: ["deploy-*"] })]);
    expect(parsed).toMatchObject({ name: "chat-ops", events: ["lock.released", "lock.force_released"], locks: ["deploy-*"] });
  });

  it.each([
    [endpoint({ events: ["lock.expired"] }), "events.0"],
    [endpoint({ events: [] }), "events"],
    [endpoint({ locks: [] }), "locks"],
    [endpoint({ secretEnv: "whsec_abc" }), "secretEnv: must be an environment variable name"],
    [endpoint({ secret: "whsec_abc" }), "Unrecognized key"],
    [endpoint({ name: "has space" }), "name"],
    [endpoint({ timeoutMs: 60_000 }), "timeoutMs"],
    [endpoint({ maxAttempts: 0 }), "maxAttempts"],
    [endpoint({ maxQueued: 0 }), "maxQueued"],
  ])("refuses %j (%s)", (entry, expected) => {
    expect(problems([entry]).join("\n")).toContain(expected);
  });

  it("refuses two endpoints of one name, which logs and metrics could not tell apart", () => {
    expect(problems([endpoint({}), endpoint({ url: "https://hooks.example.com/other" })])).toEqual([
      "1.name: another endpoint is already named hooks.example.com: give each its own name",
    ]);
  });
});

describe("webhook URLs", () => {
  it.each([
    "https://hooks.example.com/leasegate",
    "https://hooks.example.com:8443/a?b=c",
    "https://10.0.0.7/internal-relay",
    "http://127.0.0.1:9000/hooks",
    "http://127.8.9.10/hooks",
    "http://localhost:3000/hooks",
    "http://relay.localhost/hooks",
    "http://[::1]:3000/hooks",
  ])("accepts %s", (url) => {
    expect(problems([endpoint({ url })])).toEqual([]);
  });

  it.each([
    ["http://hooks.example.com/leasegate", "must use https (plain http only to loopback, or with allowInsecureHttp: true)"],
    ["http://10.0.0.7/relay", "must use https"],
    ["ftp://hooks.example.com/", "must be an https URL"],
    ["file:///etc/passwd", "must be an https URL"],
    ["hooks.example.com/leasegate", "must be an absolute URL"],
    ["https://user:pass@hooks.example.com/", "must not contain credentials"],
    ["https://hooks.example.com/#fragment", "must not have a fragment"],
    ["https://169.254.169.254/latest/meta-data/", "link-local"],
    ["http://169.254.169.254/latest/meta-data/", "link-local"],
    // Other spellings of the same address, which URL parsing normalises.
    ["https://0xa9fea9fe/", "link-local"],
    ["https://2852039166/", "link-local"],
    ["https://[::ffff:169.254.169.254]/", "link-local"],
    ["https://[fe80::1]/", "link-local"],
    ["https://0.0.0.0/", "unspecified"],
    ["https://[::]/", "unspecified"],
  ])("refuses %s", (url, reason) => {
    const found = problems([endpoint({ url })]);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/^0\.url: /);
    expect(found[0]).toContain(reason);
  });

  it("allows plain http elsewhere only when the endpoint says so, and never to instance metadata", () => {
    expect(problems([endpoint({ url: "http://relay.internal:8080/hooks", allowInsecureHttp: true })])).toEqual([]);
    expect(problems([endpoint({ url: "http://169.254.169.254/", allowInsecureHttp: true })])[0]).toContain("link-local");
  });
});
