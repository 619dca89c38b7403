import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { setAnswerHeaders } from "../../src/http/answer-headers.ts";

/** An app whose middleware adds headers to whatever answer `answer` gives, and tells whether it kept that Response. */
function appAnswering(answer: (c: import("hono").Context) => Response | Promise<Response>) {
  const app = new Hono();
  let kept: boolean | undefined;
  app.use(async (c, next) => {
    await next();
    const before = c.res;
    setAnswerHeaders(c, { "server-timing": 'kube;desc="1 requests"', "cache-control": "no-store" });
    kept = c.res === before;
  });
  app.get("/", answer);
  return { app, kept: () => kept };
}

describe("headers set on an answer after it is made", () => {
  it("are set in place on the answers this API builds", async () => {
    const { app, kept } = appAnswering((c) => c.json({ ok: true }, 200, { "cache-control": "private" }));
    const res = await app.request("/");
    expect(kept()).toBe(true);
    expect(res.headers.get("server-timing")).toBe('kube;desc="1 requests"');
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(await res.json()).toEqual({ ok: true });
  });

  it("reach an answer whose headers cannot change, on a copy of it", async () => {
    const { app, kept } = appAnswering(() => Response.redirect("http://elsewhere.example/", 302));
    const res = await app.request("/");
    expect(kept()).toBe(false);
    expect(res.status).toBe(302);
    expect(res.headers.get("location")).toBe("http://elsewhere.example/");
    expect(res.headers.get("server-timing")).toBe('kube;desc="1 requests"');
  });
});
