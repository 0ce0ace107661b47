import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../shared/errors.js";
import { isWatchBody, parseWatch } from "../../../shared/events/parse-watch.js";
import { GROUP, INSTANCE_ID, TOKEN } from "../../support/gate-harness.js";

const valid = { watch: "agent", groupName: GROUP, chain: "5b0c8e3e-0d6f-4d5e-9a59-2b5a0c7e8f11", hop: 0 };
const body = (overrides: Record<string, unknown> = {}) => JSON.stringify({ ...valid, ...overrides });

/** The InvalidInputError parseWatch throws for `text`, as the kind `kind` is run. */
function rejection(text: string, kind: "agent" | "health" = "agent"): InvalidInputError {
  try {
    parseWatch(text, kind);
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidInputError);
    return error as InvalidInputError;
  }
  throw new Error(`parseWatch accepted ${text}`);
}

describe("isWatchBody", () => {
  it("is true for a JSON object with a watch field, whatever the rest", () => {
    expect(isWatchBody(body())).toBe(true);
    expect(isWatchBody(body({ watch: "health" }))).toBe(true);
    expect(isWatchBody(JSON.stringify({ watch: "disk" }))).toBe(true);
    // The parser, not this look, judges the field.
    expect(isWatchBody(JSON.stringify({ watch: null }))).toBe(true);
  });

  it("is false for the re-checks that share the queues", () => {
    expect(isWatchBody(JSON.stringify({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN }))).toBe(false);
    expect(
      isWatchBody(JSON.stringify({ step: "health", instanceId: INSTANCE_ID, token: TOKEN, attempt: 2 })),
    ).toBe(false);
    expect(isWatchBody(JSON.stringify({ step: "drain", instanceId: INSTANCE_ID, token: TOKEN }))).toBe(false);
  });

  it("is false for non-JSON, null, arrays and scalars", () => {
    for (const text of ["{not json", "", "null", "[]", '[{"watch":"agent"}]', '"watch"', "42", "true"]) {
      expect(isWatchBody(text), text).toBe(false);
    }
  });
});

describe("parseWatch", () => {
  it("accepts a valid message for the kind this function runs", () => {
    expect(parseWatch(body(), "agent")).toEqual(valid);
    expect(parseWatch(body({ watch: "health", hop: 17 }), "health")).toEqual({
      ...valid,
      watch: "health",
      hop: 17,
    });
  });

  it("accepts a 64-character chain", () => {
    expect(parseWatch(body({ chain: "c".repeat(64) }), "agent").chain).toBe("c".repeat(64));
  });

  it("rejects non-JSON", () => {
    expect(rejection("{not json").message).toBe("watch message is not JSON");
  });

  it("rejects a missing or empty group name", () => {
    const { groupName: _omitted, ...withoutGroup } = valid;
    expect(rejection(JSON.stringify(withoutGroup)).message).toBe(
      "malformed watch message: groupName: is required; allowed: a string",
    );
    expect(rejection(body({ groupName: "" })).message).toBe(
      'malformed watch message: groupName: got ""; allowed: at least 1 long',
    );
  });

  it("rejects a negative hop, or one that is not an integer", () => {
    expect(rejection(body({ hop: -1 })).message).toBe(
      "malformed watch message: hop: got -1; allowed: at least 0",
    );
    const fractional = rejection(body({ hop: 1.5 })).message;
    expect(fractional).toMatch(/^malformed watch message: hop: got 1\.5; allowed: /);
    expect(rejection(body({ hop: "1" })).message).toMatch(
      /^malformed watch message: hop: got "1"; allowed: /,
    );
  });

  it("rejects an unknown watch kind", () => {
    expect(rejection(body({ watch: "disk" })).message).toBe(
      'malformed watch message: watch: got "disk"; allowed: one of "agent", "health"',
    );
  });

  it("rejects a chain longer than 64, or empty", () => {
    expect(rejection(body({ chain: "c".repeat(65) })).message).toBe(
      `malformed watch message: chain: got "${"c".repeat(65)}"; allowed: at most 64 long`,
    );
    expect(rejection(body({ chain: "" })).message).toMatch(/^malformed watch message: chain: /);
  });

  it("rejects a message of the other kind", () => {
    expect(rejection(body({ watch: "health" }), "agent").message).toBe(
      "the health watch is not run by this function",
    );
    expect(rejection(body(), "health").message).toBe("the agent watch is not run by this function");
  });

  it("rejects null and arrays", () => {
    expect(rejection("null").message).toMatch(/^malformed watch message: /);
    expect(rejection("[]").message).toMatch(/^malformed watch message: /);
  });
});
