import { type Browser, chromium, type ConsoleMessage, type Page } from "playwright-core";
import { ensureDebianPackage } from "./debian-package.ts";

/** Debian's Chromium: playwright-core drives it; the project downloads no browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";

/** Installs Debian's `chromium` when it is missing. */
export function ensureChromium(): Promise<void> {
  return ensureDebianPackage(CHROMIUM, "chromium");
}

/** Headless Chromium, installed first if needed. */
export async function launchChromium(): Promise<Browser> {
  await ensureChromium();
  return chromium.launch({ executablePath: CHROMIUM, headless: true });
}

/**
 * Everything a page reports as wrong: console errors (CSP violations among them), uncaught
 * exceptions, and requests that failed to load.
 */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (message: ConsoleMessage) => {
    if (message.type() === "error") errors.push(`console: ${message.text()}`);
  });
  page.on("pageerror", (error) => errors.push(`page error: ${error.message}`));
  page.on("requestfailed", (request) => {
    // An update still in flight when the page navigates away is cancelled, not failed.
    const reason = request.failure()?.errorText ?? "";
    if (reason !== "net::ERR_ABORTED") errors.push(`request failed: ${request.url()} ${reason}`);
  });
  return errors;
}
