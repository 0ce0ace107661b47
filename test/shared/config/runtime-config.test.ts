import { describe, expect, it } from "vitest";
import { RUNTIME_CONFIG_ENV, readRuntimeConfig } from "../../../shared/config/runtime-config.js";
import { RUNTIME_CONFIG } from "../../support/gate-harness.js";

const envWith = (pollIntervalSeconds: unknown) => ({
  [RUNTIME_CONFIG_ENV]: JSON.stringify({ ...RUNTIME_CONFIG, pollIntervalSeconds }),
});

describe("readRuntimeConfig: the poll intervals", () => {
  it("reads what the stack passed", () => {
    expect(readRuntimeConfig(envWith({ agent: 4, health: 5.5 })).pollIntervalSeconds).toEqual({
      agent: 4,
      health: 5.5,
    });
  });

  it("refuses at cold start what the config would have refused: out of 1–10 s, not in halves, missing", () => {
    for (const bad of [
      { agent: 0.001, health: 3 },
      { agent: 2.5, health: 11 },
      { agent: 2.25, health: 3 },
      { agent: 2.5 },
    ]) {
      expect(() => readRuntimeConfig(envWith(bad)), JSON.stringify(bad)).toThrow(
        /^LAUNCHGATE_RUNTIME is invalid: pollIntervalSeconds\.(agent|health)/,
      );
    }
  });
});
