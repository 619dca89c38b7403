import { describe, expect, it } from "vitest";
import { ConfigError } from "../../src/config/load.ts";
import { metricsExposure } from "../../src/node/metrics-exposure.ts";

describe("where Node serves /metrics", () => {
  it("nowhere unless told", () => {
    expect(metricsExposure({})).toEqual({});
  });

  it("on a listener of its own, on loopback unless METRICS_HOST says otherwise, and behind a bearer secret when one is set", () => {
    expect(metricsExposure({ METRICS_PORT: "9464" })).toEqual({ listen: { hostname: "127.0.0.1", port: 9464 } });
    expect(metricsExposure({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0", LEASEGATE_METRICS_TOKEN: "a".repeat(32) })).toEqual({
      listen: { hostname: "0.0.0.0", port: 9464 },
      bearerToken: "a".repeat(32),
    });
  });

  it.each([
    [{ METRICS_PORT: "http" }, /METRICS_PORT/],
    [{ METRICS_PORT: "70000" }, /METRICS_PORT/],
    [{ METRICS_PORT: "9464", METRICS_HOST: " " }, /METRICS_HOST is empty/],
    [{ METRICS_HOST: "0.0.0.0" }, /without METRICS_PORT/],
    [{ LEASEGATE_METRICS_TOKEN: "short" }, /at least 16/],
    [{ LEASEGATE_METRICS_TOKEN: "has a space in it, long enough" }, /without spaces/],
  ])("refuses %o at start-up", (env, message) => {
    expect(() => metricsExposure(env)).toThrow(ConfigError);
    expect(() => metricsExposure(env)).toThrow(message);
  });
});
