import { describe, expect, it } from "vitest";
import { InvalidInputError, SkipEventError } from "../../../shared/errors.js";
import { parseCommandStatus } from "../../../shared/events/parse-command-status.js";
import { parseLifecycleAction } from "../../../shared/events/parse-lifecycle-action.js";
import { parseRecheck } from "../../../shared/events/parse-recheck.js";
import { fixture } from "../../support/events.js";

describe("parseLifecycleAction", () => {
  it("normalizes a direct launch (no Origin/Destination) to EC2 → AutoScalingGroup", () => {
    expect(parseLifecycleAction(fixture("launch-lifecycle-action"))).toEqual({
      kind: "launch",
      instanceId: "i-0123456789abcdef0",
      groupName: "cnt-backend-asg",
      hookName: "launchgate-launch",
      token: "19cc4d4a-e450-4d1c-b448-0de67example",
      origin: "EC2",
      destination: "AutoScalingGroup",
      waitStartedAt: Date.parse("2026-11-28T05:00:00Z"),
    });
  });

  it("keeps warm-pool origin and destination", () => {
    expect(parseLifecycleAction(fixture("warm-pool-launch-lifecycle-action"))).toMatchObject({
      origin: "EC2",
      destination: "WarmPool",
    });
  });

  it("skips a test notification without a token", () => {
    expect(() => parseLifecycleAction(fixture("test-notification"))).toThrow(SkipEventError);
  });

  it("skips a terminate transition", () => {
    const event = fixture("launch-lifecycle-action");
    const detail = {
      ...(event.detail as object),
      LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
    };
    expect(() => parseLifecycleAction({ ...event, detail })).toThrow("not a launch transition");
  });

  it("rejects a malformed event with the field and what was expected", () => {
    const event = fixture("launch-lifecycle-action");
    const detail = { ...(event.detail as object), EC2InstanceId: "i-XYZ" };
    expect(() => parseLifecycleAction({ ...event, detail })).toThrow(
      new InvalidInputError(
        'malformed lifecycle action event: detail.EC2InstanceId: got "i-XYZ"; allowed: a string matching /^i-([0-9a-f]{8}|[0-9a-f]{17})$/',
      ),
    );
  });

  it("tolerates fields AWS may add", () => {
    const event = fixture("launch-lifecycle-action");
    expect(() =>
      parseLifecycleAction({ ...event, detail: { ...(event.detail as object), NewField: 1 } }),
    ).not.toThrow();
  });
});

describe("parseCommandStatus", () => {
  it("normalizes an SSM invocation status change", () => {
    expect(parseCommandStatus(fixture("command-invocation-success"))).toEqual({
      kind: "command-finished",
      instanceId: "i-0123456789abcdef0",
      commandId: "8a1c2b3d-0000-4000-8000-00000000c0de",
      documentName: "launchgate-cnt-backend-cnt-backend-asg-bootstrap",
      status: "Success",
    });
  });

  it("rejects an event of another source", () => {
    expect(() => parseCommandStatus(fixture("launch-lifecycle-action"))).toThrow(
      /malformed command status event: source/,
    );
  });
});

describe("parseRecheck", () => {
  it("reads a newer version's message, ignoring the fields it does not know (a deploy mixes versions)", () => {
    const body = JSON.stringify({
      step: "operation",
      instanceId: "i-0123456789abcdef0",
      token: "op",
      priority: "a field from a later version",
    });
    const event = parseRecheck(body, ["operation"]);
    expect(event).toEqual({
      kind: "recheck",
      step: "operation",
      instanceId: "i-0123456789abcdef0",
      token: "op",
    });
  });

  it("reads an operation re-check's chain, and refuses an empty one", () => {
    const message = {
      step: "operation",
      instanceId: "i-0123456789abcdef0",
      token: "op",
      chain: "c-1",
      chainSince: 4,
    };
    expect(parseRecheck(JSON.stringify(message), ["operation"])).toMatchObject({
      chain: "c-1",
      chainSince: 4,
    });
    expect(() => parseRecheck(JSON.stringify({ ...message, chain: "" }), ["operation"])).toThrow(
      /malformed re-check message: chain/,
    );
  });

  it("accepts the steps the function owns and refuses the others", () => {
    const body = JSON.stringify({ step: "health", instanceId: "i-0123456789abcdef0", token: "t" });
    expect(parseRecheck(body, ["command", "health"])).toMatchObject({ kind: "recheck", step: "health" });
    expect(() => parseRecheck(body, ["agent"])).toThrow(
      're-check step "health" is not handled by this function',
    );
  });

  it("refuses a malformed field and non-JSON", () => {
    expect(() =>
      parseRecheck(JSON.stringify({ step: "agent", instanceId: "i-0123456789abcdef0", token: 1 }), ["agent"]),
    ).toThrow("malformed re-check message: token");
    expect(() => parseRecheck("nope", ["agent"])).toThrow("re-check message is not JSON");
  });
});
