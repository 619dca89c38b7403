import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY } from "../../src/ui/security-headers.ts";
import { REFRESH_INTERVAL_MS } from "../../src/ui/status-page.ts";
import { collectPageErrors, launchChromium } from "../support/browser.ts";
import { newTestNamespace } from "../support/cluster.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type GatewayHandle, startWorkerGateway } from "../support/gateway.ts";
import { AUDIENCE, statusPageConfig } from "./status-page-app.ts";

/**
 * The same status page in workerd, bundled as a deploy bundles it: it renders with its headers,
 * and its script (whose source text the bundler has been through) runs in Chromium.
 */
let issuer: OidcIssuer;
let gateway: GatewayHandle;
let browser: Browser;

beforeAll(async () => {
  issuer = await startOidcIssuer({ defaultAudience: AUDIENCE });
  [gateway, browser] = await Promise.all([
    newTestNamespace("ui-workerd").then((namespace) => startWorkerGateway({ namespace, config: statusPageConfig(issuer) })),
    launchChromium(),
  ]);
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await issuer?.close();
});

describe("the status page in workerd", () => {
  it("renders /ui with its security headers", async () => {
    const res = await fetch(`${gateway.url}/ui`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    expect(res.headers.get("content-security-policy")).toBe(CONTENT_SECURITY_POLICY);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.text()).toContain("Sign in with a token");
  });

  it("shows a lock acquired through the API, counting down, with no console errors", async () => {
    const pipeline = await issuer.mint({ sub: "svc-pipeline" });
    const acquired = await callGateway(gateway.url, "POST", "/locks/ui-edge/acquire", { jwt: pipeline, body: { holder: "edge-deploy", ttlSeconds: 90 } });
    expect(acquired.status, JSON.stringify(acquired.body)).toBe(200);

    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${gateway.url}/ui`);
    await page.getByLabel("Bearer token").fill(pipeline);
    await page.getByRole("button", { name: "Show locks" }).click();
    const row = page.locator('tr[data-lock="ui-edge"]');
    await row.waitFor({ timeout: REFRESH_INTERVAL_MS });
    expect(await row.locator(".holder").textContent()).toBe("edge-deploy");
    const countdown = row.locator("[data-countdown-to]");
    const first = await countdown.textContent();
    expect(first).toMatch(/s left$/);
    await expect.poll(() => countdown.textContent(), { timeout: 2500, interval: 200 }).not.toBe(first);
    expect(errors, gateway.logs()).toEqual([]);
    await context.close();
  });
});
