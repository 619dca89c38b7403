import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REFRESH_INTERVAL_MS } from "../../src/ui/status-page.ts";
import { collectPageErrors, launchChromium } from "../support/browser.ts";
import { newTestNamespace } from "../support/cluster.ts";
import { callGateway } from "../support/http.ts";
import { type OidcIssuer, startOidcIssuer } from "../support/oidc-issuer.ts";
import { type GatewayHandle, startNodeGateway } from "../support/gateway.ts";
import { ACCESS_AUDIENCE, AUDIENCE, statusPageConfig } from "./status-page-app.ts";

/**
 * The status page in a real browser (Debian's Chromium) against a real gateway on Node over the
 * test apiserver: what a person sees, with the page's CSP enforced. Screenshots of the main
 * states go to test-results/ui/.
 */
const SCREENSHOTS = join(new URL("../..", import.meta.url).pathname, "test-results/ui");
/** The page asks for fresh state every REFRESH_INTERVAL_MS; an update itself takes a round trip more. */
const UPDATE_BOUND_MS = REFRESH_INTERVAL_MS + 1500;
const HOSTILE_LABEL = `<img src=x onerror="document.title='owned'"><b>docs</b> & "co"`;

let issuer: OidcIssuer;
let access: OidcIssuer;
let gateway: GatewayHandle;
let browser: Browser;
let pipeline: string;
let viewer: string;
let oncall: string;

beforeAll(async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  [issuer, access, browser] = await Promise.all([
    startOidcIssuer({ defaultAudience: AUDIENCE }),
    startOidcIssuer({ defaultAudience: ACCESS_AUDIENCE }),
    launchChromium(),
  ]);
  gateway = await startNodeGateway({ namespace: await newTestNamespace("ui-browser"), config: statusPageConfig(issuer, access) });
  [pipeline, viewer, oncall] = await Promise.all([
    issuer.mint({ sub: "svc-pipeline" }, { expiresIn: 600 }),
    issuer.mint({ sub: "viewer" }, { expiresIn: 600 }),
    access.mint({ sub: "2b8f0c1e-access-user", email: "oncall@ops.example" }, { expiresIn: 600 }),
  ]);
}, 600_000);
afterAll(async () => {
  await browser?.close();
  await gateway?.stop();
  await Promise.all([issuer?.close(), access?.close()]);
});

const api = (method: string, path: string, options: Parameters<typeof callGateway>[3] = {}) => callGateway(gateway.url, method, path, options);

async function acquire(lock: string, holder: string, ttlSeconds = 120): Promise<{ token: string; fencingToken: string }> {
  const answer = await api("POST", `/locks/${lock}/acquire`, { jwt: pipeline, body: { holder, ttlSeconds, metadata: { commit: "4f2a9c1" } } });
  expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  return answer.body as { token: string; fencingToken: string };
}

/** A tab signed in with a pasted token, the way a person does it. */
async function signInWithToken(context: BrowserContext, path: string, jwt: string): Promise<{ page: Page; errors: string[] }> {
  const page = await context.newPage();
  const errors = collectPageErrors(page);
  await page.goto(`${gateway.url}${path}`);
  await page.getByLabel("Bearer token").fill(jwt);
  await page.getByRole("button", { name: "Show locks" }).click();
  await page.locator("#live .viewer").waitFor();
  return { page, errors };
}

/** A tab behind Cloudflare Access: its session cookie rides along on every request. */
async function accessContext(): Promise<BrowserContext> {
  const context = await browser.newContext();
  await context.addCookies([{ name: "CF_Authorization", value: oncall, url: gateway.url, httpOnly: true, sameSite: "Lax" }]);
  return context;
}

const row = (page: Page, lock: string) => page.locator(`tr[data-lock="${lock}"]`);

describe("the status page in Chromium, against a gateway on Node", () => {
  it("shows a lock acquired through the API with a moving countdown, its label as text, and shows it free soon after release", async () => {
    const context = await browser.newContext({ viewport: { width: 1200, height: 720 } });
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    const dialogs: string[] = [];
    page.on("dialog", (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });

    await page.goto(`${gateway.url}/ui`);
    await expect.poll(() => page.getByRole("heading", { name: "Sign in with a token" }).isVisible()).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "sign-in.png") });
    await page.getByLabel("Bearer token").fill(pipeline);
    await page.keyboard.press("Enter");
    await page.locator("#live .viewer").waitFor();
    expect(await page.locator("#live .viewer").textContent()).toContain("svc-pipeline");

    const fragmentCosts: Array<{ at: number; kube: string | null }> = [];
    page.on("response", (response) => {
      if (new URL(response.url()).pathname === "/ui/fragments/locks") fragmentCosts.push({ at: Date.now(), kube: response.headers()["server-timing"] ?? null });
    });

    const grant = await acquire("ui-deploy", 'deploy "nightly" #7');
    await acquire("html-label", HOSTILE_LABEL);
    const acquiredAt = Date.now();
    await row(page, "ui-deploy").waitFor({ timeout: UPDATE_BOUND_MS });
    expect(Date.now() - acquiredAt).toBeLessThan(UPDATE_BOUND_MS);

    const held = row(page, "ui-deploy");
    expect(await held.locator(".status").textContent()).toContain("Held");
    expect(await held.locator(".holder").textContent()).toBe('deploy "nightly" #7');
    expect(await held.locator(".subject").textContent()).toBe("svc-pipeline");
    expect(await held.locator("code").textContent()).toBe(grant.fencingToken);

    // A label with HTML in it is text: no element, no script, shown exactly as written.
    expect(await row(page, "html-label").locator(".holder").textContent()).toBe(HOSTILE_LABEL);
    expect(await page.locator("#live img, #live b").count()).toBe(0);
    expect(await page.title()).not.toBe("owned");

    const countdown = held.locator("[data-countdown-to]");
    const first = await countdown.textContent();
    expect(first).toMatch(/^\d+ min \d\d s left$|^\d+ s left$/);
    await expect.poll(() => countdown.textContent(), { timeout: 2500, interval: 200 }).not.toBe(first);
    // Only an admin gets a force-release button.
    expect(await page.locator("[data-force-release]").count()).toBe(0);
    await page.screenshot({ path: join(SCREENSHOTS, "list-held.png") });

    const released = await api("POST", "/locks/ui-deploy/release", { jwt: pipeline, body: { token: grant.token } });
    expect(released.body).toEqual({ released: true });
    const releasedAt = Date.now();
    await expect.poll(() => held.locator(".status").textContent(), { timeout: UPDATE_BOUND_MS, interval: 100 }).toContain("Free");
    expect(Date.now() - releasedAt).toBeLessThan(UPDATE_BOUND_MS);

    // The stated update interval, and what each update cost the apiserver: what the JSON API's list costs.
    const gaps = fragmentCosts.slice(1).map((cost, index) => cost.at - fragmentCosts[index]!.at);
    expect(gaps.length).toBeGreaterThan(0);
    for (const gap of gaps) expect(Math.abs(gap - REFRESH_INTERVAL_MS)).toBeLessThan(1000);
    const listCost = (await api("GET", "/locks?limit=500", { jwt: pipeline })).headers.get("server-timing");
    expect(fragmentCosts.at(-1)!.kube).toBe(listCost);

    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("gives an admin signed in through Cloudflare Access a keyboard-usable force release whose confirmation names the holder; a reader gets none", async () => {
    const grant = await acquire("ui-prod", "deploy #42");

    const readerContext = await browser.newContext();
    const reader = await signInWithToken(readerContext, "/ui/locks/ui-prod", viewer);
    expect(await reader.page.locator("#live code").filter({ hasText: new RegExp(`^${grant.fencingToken}$`) }).count()).toBe(1);
    expect(await reader.page.locator("[data-force-release]").count()).toBe(0);
    expect(reader.errors).toEqual([]);
    await readerContext.close();

    const context = await accessContext();
    const page = await context.newPage();
    const errors = collectPageErrors(page);
    await page.goto(`${gateway.url}/ui/locks/ui-prod`);
    // Rendered on the server: the data is in the page as it arrives.
    expect(await page.locator("body").getAttribute("data-auth")).toBe("request");
    const live = page.locator("#live");
    expect(await live.textContent()).toContain("oncall@ops.example");
    expect(await live.textContent()).toContain("deploy #42");
    expect(await live.locator("code").filter({ hasText: new RegExp(`^${grant.fencingToken}$`) }).count()).toBe(1);
    await page.screenshot({ path: join(SCREENSHOTS, "detail-admin.png"), fullPage: true });

    // Keyboard only: Tab to the button, Enter opens the confirmation, which names the holder.
    const button = page.getByRole("button", { name: "Force release ui-prod" });
    for (let presses = 0; presses < 30 && !(await button.evaluate((element) => element === document.activeElement)); presses++) {
      await page.keyboard.press("Tab");
    }
    expect(await button.evaluate((element) => element === document.activeElement)).toBe(true);
    await page.keyboard.press("Enter");
    const dialog = page.getByRole("dialog");
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain("held by deploy #42 (svc-pipeline) with fencing token " + grant.fencingToken);
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Cancel");
    await page.screenshot({ path: join(SCREENSHOTS, "force-release-confirmation.png") });

    // Escape cancels; nothing happens.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "hidden" });
    expect((await api("GET", "/locks/ui-prod", { jwt: pipeline })).body.status).toBe("held");

    await button.focus();
    await page.keyboard.press("Enter");
    await dialog.waitFor();
    await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.textContent)).toBe("Force release");
    await page.keyboard.press("Enter");
    await dialog.waitFor({ state: "hidden" });
    await expect.poll(() => page.locator("#notice").textContent()).toContain("Force-released ui-prod");
    await expect.poll(() => live.locator(".status").first().textContent(), { timeout: 3000 }).toContain("Free");
    const state = await api("GET", "/locks/ui-prod", { jwt: pipeline });
    expect(state.body).toMatchObject({ status: "free", forcedRelease: { by: "oncall@ops.example" } });
    expect(await page.locator("[data-force-release]").count()).toBe(0);

    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows who waits in line, in order, with waiting times that count up, and the line moving on release", async () => {
    const first = await acquire("ui-queue", "release-train");
    const waiterJwt = await issuer.mint({ sub: "svc-hotfix" });
    // A waiting acquire: the request stays open, in line, until the lock is granted to it.
    const waiting = api("POST", "/locks/ui-queue/acquire", { jwt: waiterJwt, body: { holder: "hotfix-7", ttlSeconds: 60, waitSeconds: 30 } });

    const context = await browser.newContext({ viewport: { width: 1200, height: 900 } });
    const { page, errors } = await signInWithToken(context, "/ui/locks/ui-queue", viewer);
    const queueRow = page.locator("table.queue tbody tr").first();
    await queueRow.waitFor({ timeout: UPDATE_BOUND_MS });
    expect(await queueRow.locator('[data-label="Position"]').textContent()).toBe("1");
    expect(await queueRow.locator(".holder").textContent()).toBe("hotfix-7");
    expect(await queueRow.locator(".subject").textContent()).toBe("svc-hotfix");
    const waited = queueRow.locator("[data-elapsed-since]");
    const before = await waited.textContent();
    expect(before).toMatch(/^\d+ s$/);
    await expect.poll(() => waited.textContent(), { timeout: 2500, interval: 200 }).not.toBe(before);
    await page.screenshot({ path: join(SCREENSHOTS, "detail-queue.png"), fullPage: true });
    const overviewContext = await accessContext();
    const overview = await overviewContext.newPage();
    await overview.setViewportSize({ width: 1200, height: 560 });
    await overview.goto(`${gateway.url}/ui?prefix=ui-`);
    expect(await row(overview, "ui-queue").locator('[data-label="Waiting"]').textContent()).toBe("1");
    await overview.screenshot({ path: join(SCREENSHOTS, "overview-admin.png") });
    await overviewContext.close();

    await api("POST", "/locks/ui-queue/release", { jwt: pipeline, body: { token: first.token } });
    const granted = await waiting;
    expect(granted.status, JSON.stringify(granted.body)).toBe(200);
    await expect.poll(() => page.locator("#live .facts .holder").first().textContent(), { timeout: UPDATE_BOUND_MS, interval: 100 }).toBe("hotfix-7");
    expect(await page.locator("#live").textContent()).toContain("Nobody is waiting.");
    await api("POST", "/locks/ui-queue/release", { jwt: waiterJwt, body: { token: (granted.body as { token: string }).token } });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("shows a semaphore's slots in use and each of its holders", async () => {
    const [first, second] = [await acquire("ui-pool-runners", "runner-a"), await acquire("ui-pool-runners", "runner-b")];
    const context = await browser.newContext();
    const { page, errors } = await signInWithToken(context, "/ui?prefix=ui-pool", viewer);
    const pool = row(page, "ui-pool-runners");
    await pool.waitFor();
    expect(await pool.locator(".slots").textContent()).toBe("2 of 3 slots in use");
    expect(await pool.locator(".holder").allTextContents()).toEqual(["runner-a", "runner-b"]);
    expect(await pool.locator("code").allTextContents()).toEqual([first.fencingToken, second.fencingToken]);
    await pool.getByRole("link", { name: "ui-pool-runners" }).click();
    await page.locator("table.holders").waitFor();
    expect(await page.locator("table.holders .holder").allTextContents()).toEqual(["runner-a", "runner-b"]);
    expect(errors).toEqual([]);
    await context.close();
  });

  it("fits a phone-sized screen without sideways scrolling", async () => {
    await acquire("ui-mobile-with-a-rather-long-lock-name.example", "nightly-build-runner-17");
    const context = await browser.newContext({ viewport: { width: 375, height: 740 }, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
    const { page, errors } = await signInWithToken(context, "/ui?prefix=ui-", pipeline);
    await row(page, "ui-mobile-with-a-rather-long-lock-name.example").waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: join(SCREENSHOTS, "phone.png"), fullPage: true });
    expect(errors).toEqual([]);
    await context.close();
  });

  it("has no serious accessibility problems (axe-core), with the page's own CSP in force", async () => {
    await acquire("ui-a11y", "a11y-check");
    const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
    const context = await accessContext();
    for (const path of ["/ui", "/ui/locks/ui-a11y"]) {
      const page = await context.newPage();
      await page.goto(`${gateway.url}${path}`);
      await page.evaluate(axeSource);
      const violations = await page.evaluate(async () => {
        const result = await (window as unknown as { axe: { run(): Promise<{ violations: Array<{ id: string; impact: string; nodes: unknown[] }> }> } }).axe.run();
        return result.violations.filter((v) => v.impact === "serious" || v.impact === "critical").map((v) => `${v.id} (${v.nodes.length})`);
      });
      expect(violations, path).toEqual([]);
      await page.close();
    }
    await context.close();
  });
});
