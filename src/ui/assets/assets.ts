import { TRUSTED_TYPES_POLICY } from "../security-headers.ts";
import { statusPageScript } from "./client-script.ts";
import { STYLESHEET } from "./stylesheet.ts";

/** Where the pasted token is kept: this tab's session storage, under this key. */
export const TOKEN_STORAGE_KEY = "leasegate.statusPage.token";

export interface Asset {
  /** Carries a fingerprint of the content, so browsers may keep it for good. */
  path: string;
  contentType: string;
  body: string;
}

/**
 * The script's source text as the browser gets it. Bundlers that keep function names (wrangler's
 * esbuild does) wrap named functions in calls of a `__name` helper that lives outside the
 * function; the browser gets a do-nothing one.
 */
const script = `"use strict";
var __name = (target) => target;
(${statusPageScript.toString()})(${JSON.stringify(TRUSTED_TYPES_POLICY)}, ${JSON.stringify(TOKEN_STORAGE_KEY)});
`;

export const SCRIPT: Asset = { path: `/ui/assets/status-page.${fingerprint(script)}.js`, contentType: "text/javascript; charset=utf-8", body: script };
export const STYLE: Asset = { path: `/ui/assets/status-page.${fingerprint(STYLESHEET)}.css`, contentType: "text/css; charset=utf-8", body: STYLESHEET };

/** FNV-1a over UTF-16 code units: enough to tell one version of a file from the next, and synchronous. */
function fingerprint(text: string): string {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
