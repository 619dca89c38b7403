import { describe, expect, it } from "vitest";
import { requestPath } from "../../src/http/request-path.ts";

describe("a request's path", () => {
  it.each([
    "http://localhost/locks/deploy/acquire",
    "http://localhost",
    "http://gw.example:8080/locks?prefix=a/b",
    "https://gw.example/locks/a#frag/ment",
    "http://gw.example/?only=query",
    "http://gw.example/x%0Ay%20z%2F",
    'http://gw.example/é<>"`{}|^',
    "http://[::1]:8080/a b",
    "http://gw.example/a/./b/%2e%2e/c",
    "http://gw.example\\a\\b?c",
    "http://gw.example//double//slashes/",
  ])("is what the URL parser reads from %s, still percent-encoded", (url) => {
    const serialized = new Request(url).url;
    expect(requestPath(serialized)).toBe(new URL(serialized).pathname);
  });

  it("is read the same from a URL that was not serialized first", () => {
    for (const url of ["http://gw.example/locks/a?x#y", "http://gw.example/locks/A-Z_~!$&'()*+,;=:@[]", "http://gw.example"]) {
      expect(requestPath(url)).toBe(new URL(url).pathname);
    }
  });
});
