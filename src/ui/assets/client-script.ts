/**
 * The status page's script: live updates, countdowns, the pasted-token sign-in and the
 * force-release confirmation. It is one self-contained function, type-checked with the rest of
 * the code, whose source text is what the browser receives (see assets.ts): it must use nothing
 * from this module's scope, only its parameters and the browser's globals.
 *
 * Everything it shows either comes from the gateway's fragment routes (HTML escaped there, and
 * inserted only through the one Trusted Types policy the page's CSP allows) or is set as text.
 */
export function statusPageScript(trustedTypesPolicy: string, tokenStorageKey: string): void {
  type HtmlPolicy = { createHTML(input: string): string };
  const body = document.body;
  const live = document.getElementById("live");
  const notice = document.getElementById("notice");
  const updated = document.getElementById("updated");
  if (!live || !notice || !updated) return;
  const source = live.dataset.src ?? "";
  const refreshMs = Number(body.dataset.refreshMs) || 5000;
  const usesToken = body.dataset.auth === "token";

  const trustedTypes = (window as unknown as { trustedTypes?: { createPolicy(name: string, rules: HtmlPolicy): HtmlPolicy } }).trustedTypes;
  // The only HTML this page ever parses is a response of its own fragment routes.
  const fragmentPolicy: HtmlPolicy = trustedTypes ? trustedTypes.createPolicy(trustedTypesPolicy, { createHTML: (input) => input }) : { createHTML: (input) => input };

  /** The gateway's clock minus this browser's: countdowns use the clock that decides expiry. */
  let clockOffsetMs = 0;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let latestRequest = 0;
  /** Whether the notice shows a failed update (cleared by the next good one) rather than an action's outcome. */
  let noticeIsUpdateError = false;

  function parse(markup: string): DocumentFragment {
    const template = document.createElement("template");
    template.innerHTML = fragmentPolicy.createHTML(markup);
    return template.content;
  }

  function learnServerClock(root: Element | null): void {
    const serverNow = Date.parse((root as HTMLElement | null)?.dataset.serverNow ?? "");
    if (!Number.isNaN(serverNow)) clockOffsetMs = serverNow - Date.now();
  }

  function duration(ms: number): string {
    const seconds = Math.max(0, Math.round(ms / 1000));
    const two = (n: number) => String(n).padStart(2, "0");
    if (seconds < 60) return `${seconds} s`;
    if (seconds < 3600) return `${Math.floor(seconds / 60)} min ${two(seconds % 60)} s`;
    if (seconds < 86400) return `${Math.floor(seconds / 3600)} h ${two(Math.floor((seconds % 3600) / 60))} min`;
    return `${Math.floor(seconds / 86400)} d ${two(Math.floor((seconds % 86400) / 3600))} h`;
  }

  function tick(): void {
    const now = Date.now() + clockOffsetMs;
    for (const element of live!.querySelectorAll<HTMLElement>("[data-countdown-to]")) {
      const left = Date.parse(element.dataset.countdownTo ?? "") - now;
      if (Number.isNaN(left)) continue;
      // Rounded up: "1 s left" until the very end, never "0 s left" for a hold that is still on.
      element.textContent = left > 0 ? `${duration(Math.ceil(left / 1000) * 1000)} left` : "expired";
      element.classList.toggle("is-expired", left <= 0);
    }
    for (const element of live!.querySelectorAll<HTMLElement>("[data-elapsed-since]")) {
      const since = Date.parse(element.dataset.elapsedSince ?? "");
      if (!Number.isNaN(since)) element.textContent = duration(Math.floor((now - since) / 1000) * 1000);
    }
  }

  /** Replaces the live part, keeping keyboard focus on the same link or button if it is still there. */
  function swap(markup: string): void {
    const focused = document.activeElement;
    let focusSelector: string | undefined;
    if (focused && live!.contains(focused)) {
      if (focused.id) focusSelector = `#${CSS.escape(focused.id)}`;
      else if (focused.getAttribute("href")) focusSelector = `[href="${CSS.escape(focused.getAttribute("href")!)}"]`;
    }
    const content = parse(markup);
    learnServerClock(content.firstElementChild);
    live!.replaceChildren(content);
    tick();
    if (focusSelector) live!.querySelector<HTMLElement>(focusSelector)?.focus();
  }

  function authorization(): Record<string, string> {
    const token = sessionStorage.getItem(tokenStorageKey);
    return usesToken && token ? { authorization: `Bearer ${token}` } : {};
  }

  function schedule(): void {
    clearTimeout(timer);
    timer = setTimeout(() => void refresh(), refreshMs);
  }

  async function refresh(): Promise<void> {
    clearTimeout(timer);
    if (usesToken && !sessionStorage.getItem(tokenStorageKey)) return showSignIn();
    // A hidden tab costs the apiserver nothing; it updates again the moment it is shown.
    if (document.hidden) return;
    const request = ++latestRequest;
    try {
      const response = await fetch(source, { headers: { accept: "text/html", ...authorization() }, cache: "no-store", credentials: "same-origin" });
      const markup = await response.text();
      if (request !== latestRequest) return;
      if (response.status === 401) return signedOut();
      if (response.ok) {
        swap(markup);
        if (noticeIsUpdateError) notice!.replaceChildren();
        noticeIsUpdateError = false;
        updated!.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
      } else {
        notice!.replaceChildren(parse(markup));
        noticeIsUpdateError = true;
      }
    } catch {
      if (request !== latestRequest) return;
      noticeIsUpdateError = true;
      notice!.textContent = usesToken
        ? "Could not reach the gateway; trying again."
        : "Could not reach the gateway; trying again. If your sign-in has expired, reload the page.";
    }
    schedule();
  }

  // Signing in with a pasted token.
  const signIn = document.getElementById("sign-in");
  const tokenForm = document.getElementById("token-form");
  const tokenInput = document.getElementById("token") as HTMLInputElement | null;
  const signInError = document.getElementById("sign-in-error");
  const forgetToken = document.getElementById("forget-token");

  function showSignIn(message?: string): void {
    clearTimeout(timer);
    live!.replaceChildren();
    updated!.textContent = "";
    if (forgetToken) forgetToken.hidden = true;
    if (!signIn) return;
    signIn.hidden = false;
    if (signInError) {
      signInError.hidden = message === undefined;
      signInError.textContent = message ?? "";
    }
    if (message !== undefined) tokenInput?.focus();
  }

  function signedOut(): void {
    clearTimeout(timer);
    if (usesToken) {
      sessionStorage.removeItem(tokenStorageKey);
      showSignIn("The gateway did not accept this token (expired, or from an issuer it does not trust). Paste a new one.");
    } else {
      notice!.textContent = "Your sign-in has expired. Reload the page to sign in again.";
    }
  }

  tokenForm?.addEventListener("submit", (event) => {
    event.preventDefault();
    // A pasted "Bearer …" header value works as well as the bare token.
    const token = (tokenInput?.value ?? "").trim().replace(/^bearer\s+/i, "");
    if (!token) return;
    sessionStorage.setItem(tokenStorageKey, token);
    if (tokenInput) tokenInput.value = "";
    if (signIn) signIn.hidden = true;
    if (forgetToken) forgetToken.hidden = false;
    void refresh();
  });

  forgetToken?.addEventListener("click", () => {
    sessionStorage.removeItem(tokenStorageKey);
    notice!.replaceChildren();
    showSignIn();
    tokenInput?.focus();
  });

  // Force release: a confirmation that names the holders, then the gateway's own check that the holds are still the ones named.
  const dialog = document.getElementById("force-release-dialog") as HTMLDialogElement | null;
  const slot = (name: string) => dialog?.querySelector<HTMLElement>(`[data-slot="${name}"]`) ?? null;
  let pending: { name: string; holder: string; fencingTokens: string; holds: string } | undefined;

  live.addEventListener("click", (event) => {
    const button = (event.target as Element | null)?.closest<HTMLButtonElement>("button[data-force-release]");
    if (!button || !dialog) return;
    pending = {
      name: button.dataset.forceRelease ?? "",
      holder: button.dataset.holder ?? "",
      fencingTokens: button.dataset.fencingToken ?? "",
      holds: button.dataset.holds ?? "",
    };
    slot("name")!.textContent = pending.name;
    slot("holder")!.textContent = pending.holder;
    slot("token-noun")!.textContent = pending.fencingTokens.includes(",") ? "fencing tokens" : "fencing token";
    slot("token")!.textContent = pending.fencingTokens;
    slot("token-sentence")!.hidden = pending.fencingTokens === "";
    slot("error")!.hidden = true;
    dialog.showModal();
  });

  dialog?.querySelector('[data-dialog="cancel"]')?.addEventListener("click", () => dialog.close());

  dialog?.querySelector<HTMLButtonElement>('[data-dialog="confirm"]')?.addEventListener("click", async (event) => {
    const confirm = event.currentTarget as HTMLButtonElement;
    if (!pending) return;
    const { name, holder, holds } = pending;
    confirm.disabled = true;
    const fail = (message: string) => {
      slot("error")!.textContent = message;
      slot("error")!.hidden = false;
    };
    try {
      const response = await fetch(`/ui/locks/${encodeURIComponent(name)}/force-release`, {
        method: "POST",
        headers: { "content-type": "application/json", accept: "application/json", ...authorization() },
        body: JSON.stringify({ holds }),
        credentials: "same-origin",
        cache: "no-store",
      });
      if (response.status === 401) {
        dialog!.close();
        return signedOut();
      }
      const answer = (await response.json().catch(() => ({}))) as { released?: boolean; holderChanged?: boolean; title?: string };
      if (!response.ok) return fail(`The gateway refused: ${answer.title ?? response.status}.`);
      if (answer.holderChanged) {
        fail("The holders changed since this page was updated; nothing was released. Look again before you retry.");
        return void refresh();
      }
      dialog!.close();
      noticeIsUpdateError = false;
      notice!.textContent = answer.released ? `Force-released ${name} (was held by ${holder}).` : `${name} was already free; nothing to release.`;
      void refresh();
    } catch {
      fail("Could not reach the gateway; nothing was confirmed. Try again.");
    } finally {
      confirm.disabled = false;
    }
  });

  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) void refresh();
  });
  setInterval(tick, 1000);

  learnServerClock(live.firstElementChild);
  tick();
  if (live.firstElementChild) updated.textContent = `Updated ${new Date().toLocaleTimeString()}.`;
  if (!usesToken) schedule();
  else if (sessionStorage.getItem(tokenStorageKey)) {
    if (forgetToken) forgetToken.hidden = false;
    void refresh();
  } else showSignIn();
}
