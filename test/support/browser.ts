import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { type Browser, chromium, type ConsoleMessage, type Page } from "playwright-core";

const exec = promisify(execFile);

/** Debian's Chromium: playwright-core drives it; the project downloads no browser of its own. */
export const CHROMIUM = "/usr/bin/chromium";

let installing: Promise<void> | undefined;

/**
 * Installs Debian's `chromium` when it is missing (CI machines are root and reach Debian's
 * archive). Test files run in parallel processes: a file lock lets one of them install while the
 * others wait, and each looks again once it holds the lock.
 */
export function ensureChromium(): Promise<void> {
  if (existsSync(CHROMIUM)) return Promise.resolve();
  installing ??= (async () => {
    if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)`);
    const install = `test -x ${CHROMIUM} || { apt-get -qq update && apt-get -qq install -y chromium; }`;
    await exec("flock", [join(tmpdir(), "leasegate-chromium-install.lock"), "sh", "-c", install], {
      env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
      maxBuffer: 64 * 1024 * 1024,
    });
    if (!existsSync(CHROMIUM)) throw new Error(`apt-get installed chromium but ${CHROMIUM} is still missing`);
  })();
  return installing;
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
