import { html, type Html } from "./html.ts";

export interface PageData {
  title: string;
  /** `request`: the page request itself carried a verified identity (Cloudflare Access), and so will the script's. `token`: the script sends a pasted bearer token. */
  auth: "request" | "token";
  /** The fragment route the script polls for this page's live part. */
  fragmentUrl: string;
  refreshMs: number;
  assets: { script: string; style: string };
  /** Above the live part: heading, breadcrumb, filter. */
  intro: Html;
  /** The live part as rendered now, when the request carried an identity. */
  live?: Html;
  /** A notice in place of the live part (a refused sign-in, a bad lock name). */
  notice?: Html;
}

export function page(data: PageData): Html {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${data.title} · leasegate</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${data.assets.style}">
<script src="${data.assets.script}" defer></script>
</head>
<body data-auth="${data.auth}" data-refresh-ms="${data.refreshMs}">
<a class="skip-link" href="#main">Skip to content</a>
<header class="top">
<a class="brand" href="/ui">leasegate <span class="brand-sub">locks</span></a>
${data.auth === "token" ? html`<button type="button" id="forget-token" class="secondary" hidden>Forget token</button>` : ""}
</header>
<main id="main" tabindex="-1">
${data.intro}
${data.auth === "token" ? signIn() : ""}
<div id="notice" role="status">${data.notice ?? ""}</div>
<div id="live" data-src="${data.fragmentUrl}">${data.live ?? ""}</div>
<p class="refresh"><span id="updated"></span> Updates every ${data.refreshMs / 1000} s while this page is visible.</p>
</main>
${forceReleaseDialog()}
</body>
</html>`;
}

/**
 * Shown by the script when it has no token. The input has no `name`, so even with the script
 * missing the token can never be submitted into a URL.
 */
function signIn(): Html {
  return html`<section id="sign-in" class="sign-in" aria-labelledby="sign-in-title" hidden>
<h2 id="sign-in-title">Sign in with a token</h2>
<p>Paste a bearer token (a JWT from an issuer this gateway trusts). It stays in this browser tab only (session storage) and is sent to this gateway alone, as <code>Authorization</code>.</p>
<form id="token-form" class="token-form">
<label for="token">Bearer token</label>
<input id="token" type="password" autocomplete="off" spellcheck="false" autocapitalize="none" required>
<button type="submit">Show locks</button>
</form>
<p id="sign-in-error" class="notice notice-error" role="alert" hidden></p>
</section>
<noscript><p class="notice">This page needs JavaScript to use a pasted token. Behind Cloudflare Access it is rendered on the server.</p></noscript>`;
}

function forceReleaseDialog(): Html {
  return html`<dialog id="force-release-dialog" aria-labelledby="force-release-title" aria-describedby="force-release-what">
<h2 id="force-release-title">Force-release <span data-slot="name"></span>?</h2>
<p id="force-release-what">It is held by <strong data-slot="holder"></strong><span data-slot="token-sentence"> with <span data-slot="token-noun">fencing token</span> <code data-slot="token"></code></span>. Holders are not told: their next renew fails, and the next caller gets the lock.</p>
<p class="notice notice-error" data-slot="error" role="alert" hidden></p>
<div class="dialog-actions">
<button type="button" class="secondary" data-dialog="cancel" autofocus>Cancel</button>
<button type="button" class="danger" data-dialog="confirm">Force release</button>
</div>
</dialog>`;
}
