import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../../shared/config/parse-config.js";
import {
  drainHookHeartbeatSeconds,
  drainHookNameFor,
  runtimeConfigSchema,
  toRuntimeConfig,
} from "../../../shared/config/runtime-config.js";

/** groups[].drain (issue 13, graceful drain on scale-in): optional, a whole number of seconds. */
const group = (overrides: Record<string, unknown>) => ({
  groups: [{ name: "my-asg", targetGroups: ["my-tg"], ...overrides }],
});

function problemsOf(input: unknown): readonly string[] {
  try {
    parseConfig(input, "test");
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error("config was accepted");
}

const resources = {
  stateTableName: "state",
  operationsTableName: "ops",
  recheckQueueUrls: { launch: "l", result: "r", operations: "o" },
};

describe("groups[].drain", () => {
  it("is off when absent: no drain in the runtime config", () => {
    const config = parseConfig(group({}));
    expect(config.groups[0]?.drain).toBeUndefined();
    expect(toRuntimeConfig(config, resources).groups[0]?.drain).toBeUndefined();
  });

  it("maps to the drain hook's name and the limit in the runtime config, which validates", () => {
    const config = parseConfig(group({ drain: { timeoutSeconds: 300 } }));
    const runtime = toRuntimeConfig(config, resources);
    expect(runtime.groups[0]?.drain).toEqual({ hookName: "launchgate-launch-drain", timeoutSeconds: 300 });
    expect(runtimeConfigSchema.safeParse(JSON.parse(JSON.stringify(runtime))).success).toBe(true);
  });

  it("refuses a limit out of range, a fraction, and unknown fields", () => {
    expect(problemsOf(group({ drain: { timeoutSeconds: 5 } }))[0]).toMatch(
      /groups\[0\]\.drain\.timeoutSeconds/,
    );
    expect(problemsOf(group({ drain: { timeoutSeconds: 4000 } }))[0]).toMatch(/from 30 to 3600/);
    expect(problemsOf(group({ drain: { timeoutSeconds: 60.5 } }))[0]).toMatch(/timeoutSeconds/);
    expect(problemsOf(group({ drain: {} }))[0]).toMatch(/timeoutSeconds/);
    expect(problemsOf(group({ drain: { timeoutSeconds: 60, signal: "x" } }))[0]).toMatch(/signal/);
  });

  it("the hook name stays within 255 characters; its heartbeat outlasts the limit", () => {
    expect(drainHookNameFor("a".repeat(255))).toHaveLength(255);
    expect(drainHookNameFor("h")).toBe("h-drain");
    expect(drainHookHeartbeatSeconds(30)).toBe(330);
    expect(drainHookHeartbeatSeconds(3600)).toBe(3900);
  });
});
