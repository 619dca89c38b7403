import { describe, expect, it } from "vitest";
import { lockView } from "../../src/ui/lock-view.ts";
import { lockDetailFragment } from "../../src/ui/views/lock-detail.ts";
import { lockListFragment } from "../../src/ui/views/lock-list.ts";

/**
 * What the page makes of the JSON API's lock state, including the fields that are optional to it:
 * a queue, waiter counts and semaphore slots appear when the API answers them, and nothing
 * stands in their place when it does not.
 */
const viewer = { issuer: "https://issuer.example", subject: "ops", claims: {} };
const serverNow = new Date("2026-11-30T17:48:40.000Z");
const HTML_LABEL = `<script>alert("x")</script>&`;

const held = {
  name: "deploy-prod",
  namespace: "leasegate",
  status: "held",
  holder: "ci-1",
  holderIdentity: "ci-1 (svc-alice)",
  subject: "svc-alice",
  issuer: "https://issuer.example",
  fencingToken: "196",
  acquiredAt: "2026-11-30T17:48:33.299Z",
  renewedAt: "2026-11-30T17:48:35.457Z",
  expiresAt: "2026-11-30T17:49:35.457Z",
  ttlSeconds: 60,
  transitions: 0,
  metadata: { commit: "abc" },
};

const render = async (markup: ReturnType<typeof lockListFragment>) => String(await markup);
const list = (items: unknown[], canForceRelease: (name: string) => boolean = () => false) =>
  render(lockListFragment({ viewer, serverNow, prefix: "", locks: items.map((item) => lockView(item)!), complete: true, canForceRelease }));
const detail = (item: unknown, canForceRelease = false) => render(lockDetailFragment({ viewer, serverNow, lock: lockView(item)!, canForceRelease }));

describe("reading the API's lock state", () => {
  it("keeps what it can show and drops what it cannot count on", () => {
    const view = lockView({ ...held, expiresAt: "not a date", ttlSeconds: -1, metadata: { ok: "yes", odd: 7 }, queue: [{ position: 1 }, "junk"] });
    expect(view).toMatchObject({ name: "deploy-prod", status: "held", expiresAt: undefined, ttlSeconds: undefined, metadata: [["ok", "yes"]], queue: [{ position: 1 }] });
    expect(lockView({ status: "held" })).toBeNull();
    expect(lockView("deploy-prod")).toBeNull();
  });
});

describe("the lock list", () => {
  it("shows a Waiting column only once the API counts waiters", async () => {
    expect(await list([held])).not.toContain(">Waiting<");
    const withQueue = await list([{ ...held, waiters: 3 }, { name: "docs", status: "free", ttlSeconds: 30, transitions: 1, metadata: {}, waiters: 0 }]);
    expect(withQueue).toContain(">Waiting<");
    expect(withQueue).toMatch(/data-label="Waiting">3</);
  });

  it("shows a semaphore's slots in use", async () => {
    const markup = await list([{ ...held, maxHolders: 3, holders: [{ holderIdentity: "a (x)" }, { holderIdentity: "b (y)" }] }]);
    expect(markup).toContain("2 of 3 slots in use");
  });

  it("offers force release only on held locks the viewer may administer", async () => {
    const markup = await list([held, { ...held, name: "other" }, { name: "idle", status: "free", ttlSeconds: 30, transitions: 0, metadata: {} }], (name) => name !== "other");
    expect([...markup.matchAll(/data-force-release="([^"]+)"/g)].map((m) => m[1])).toEqual(["deploy-prod"]);
  });

  it("says when nothing matches, echoing the prefix as text", async () => {
    const markup = await render(lockListFragment({ viewer, serverNow, prefix: "<b>", locks: [], complete: false, canForceRelease: () => false }));
    expect(markup).toContain("whose name starts with <code>&lt;b&gt;</code>");
    expect(markup).toContain("Narrow the name prefix");
  });
});

describe("a lock's page", () => {
  it("shows the queue with positions, waiting times and how long each place is kept", async () => {
    const markup = await detail({
      ...held,
      waiters: 2,
      queue: [
        { position: 1, holder: HTML_LABEL, holderIdentity: `${HTML_LABEL} (svc-bob)`, subject: "svc-bob", waitingSince: "2026-11-30T17:48:36.000Z", expiresAt: "2026-11-30T17:48:51.000Z" },
        { position: 2, holderIdentity: "nightly (svc-carol)", subject: "svc-carol", waitingSince: "2026-11-30T17:48:38.000Z", expiresAt: "2026-11-30T17:48:53.000Z" },
      ],
    });
    expect(markup).toContain(">Queue<");
    expect(markup).toMatch(/data-label="Position">1<.*svc-bob.*data-elapsed-since="2026-11-30T17:48:36.000Z".*data-countdown-to="2026-11-30T17:48:51.000Z"/s);
    expect(markup).toMatch(/data-label="Position">2<.*svc-carol/s);
    expect(markup).toContain("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;");
    expect(markup).not.toContain("<script>");
  });

  it("says nobody waits for an empty queue, and shows no queue at all where the API has none", async () => {
    expect(await detail({ ...held, queue: [] })).toContain("Nobody is waiting.");
    expect(await detail(held)).not.toContain(">Queue<");
  });

  it("lists a semaphore's holders", async () => {
    const markup = await detail({
      ...held,
      maxHolders: 2,
      holders: [{ holder: "a", holderIdentity: "a (svc-a)", subject: "svc-a", fencingToken: "10", acquiredAt: held.acquiredAt, expiresAt: held.expiresAt }],
    });
    expect(markup).toContain("1 of 2 slots in use");
    expect(markup).toMatch(/>Holders<.*svc-a.*<code>10<\/code>/s);
  });

  it("says nothing of slots or holders for a lock with one slot", async () => {
    const mutex = { ...held, maxHolders: 1, holders: [{ holder: "ci-1", holderIdentity: "ci-1 (svc-alice)", subject: "svc-alice", fencingToken: "196" }] };
    const markup = await detail(mutex);
    expect(markup).not.toContain("slot");
    expect(markup).not.toContain(">Holders<");
    expect(await list([mutex])).not.toContain("slot");
  });

  it("names every holder of a semaphore, and their fencing tokens, on its force-release button", async () => {
    const markup = await detail(
      {
        ...held,
        maxHolders: 3,
        holders: [
          { holder: "b", holderIdentity: "b (svc-b)", subject: "svc-b", fencingToken: "12" },
          { holder: "a", holderIdentity: "a (svc-a)", subject: "svc-a", fencingToken: "15" },
        ],
      },
      true,
    );
    expect(markup).toContain('data-holder="b (svc-b), a (svc-a)" data-fencing-token="12, 15"');
    expect(markup).toContain(`data-holds="${JSON.stringify([["a (svc-a)", "15"], ["b (svc-b)", "12"]]).replaceAll('"', "&quot;")}"`);
  });

  it("names the holder on the force-release button the confirmation reads from", async () => {
    const markup = await detail({ ...held, holder: HTML_LABEL, holderIdentity: `${HTML_LABEL} (svc-alice)` }, true);
    expect(markup).toContain(`data-holder="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp; (svc-alice)" data-fencing-token="196"`);
  });
});
