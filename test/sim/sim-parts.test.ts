import { describe, expect, it } from "vitest";
import {
  alarmPattern,
  commandInvocationPattern,
  launchLifecyclePattern,
} from "../../shared/events/patterns.js";
import { evaluateCondition } from "../../sim/aws/condition-expression.js";
import { matchesPattern } from "../../sim/aws/event-pattern.js";
import { fixture } from "../support/events.js";

describe("simulated EventBridge matching, on the stack's own patterns", () => {
  const command = commandInvocationPattern(["launchgate-cnt-backend-cnt-backend-asg-bootstrap"]);

  it("routes a final status of our document, and not a non-final one or another document", () => {
    const event = fixture("command-invocation-success");
    expect(matchesPattern(command, event)).toBe(true);
    const detail = event.detail as Record<string, unknown>;
    expect(matchesPattern(command, { ...event, detail: { ...detail, status: "InProgress" } })).toBe(false);
    expect(
      matchesPattern(command, { ...event, detail: { ...detail, "document-name": "AWS-RunShellScript" } }),
    ).toBe(false);
  });

  it("routes lifecycle actions of gated groups only", () => {
    const launch = launchLifecyclePattern([{ name: "cnt-backend-asg", hookName: "launchgate-launch" }]);
    const event = fixture("launch-lifecycle-action");
    expect(matchesPattern(launch, event)).toBe(true);
    expect(
      matchesPattern(launch, {
        ...event,
        detail: { ...(event.detail as object), AutoScalingGroupName: "other" },
      }),
    ).toBe(false);
  });

  it("matches nested fields: an alarm going to ALARM, not to OK", () => {
    const pattern = alarmPattern(["cnt-backend-unhealthy-hosts"]);
    const event = {
      source: "aws.cloudwatch",
      "detail-type": "CloudWatch Alarm State Change",
      detail: { alarmName: "cnt-backend-unhealthy-hosts", state: { value: "ALARM" } },
    };
    expect(matchesPattern(pattern, event)).toBe(true);
    expect(matchesPattern(pattern, { ...event, detail: { ...event.detail, state: { value: "OK" } } })).toBe(
      false,
    );
  });

  it("refuses a pattern form it does not model", () => {
    const pattern = { source: ["aws.ssm"], "detail-type": ["x"], detail: { status: [{ prefix: "Succ" }] } };
    expect(() =>
      matchesPattern(pattern, { source: "aws.ssm", "detail-type": "x", detail: { status: "Success" } }),
    ).toThrow("unsupported event pattern rule");
  });
});

describe("simulated DynamoDB conditions, as the gate store writes them", () => {
  const names = { "#token": "token", "#version": "version" };
  const item = { instanceId: { S: "i-1" }, token: { S: "t1" }, version: { N: "3" } };

  it("creates only where no record of that wait exists", () => {
    const create = "attribute_not_exists(instanceId) OR #token <> :token";
    expect(evaluateCondition(create, undefined, names, { ":token": { S: "t1" } })).toBe(true);
    expect(evaluateCondition(create, item, names, { ":token": { S: "t1" } })).toBe(false);
    expect(evaluateCondition(create, item, names, { ":token": { S: "t2" } })).toBe(true);
  });

  it("updates only from the expected version of the same wait", () => {
    const update = "#version = :expected AND #token = :token";
    expect(evaluateCondition(update, item, names, { ":expected": { N: "3" }, ":token": { S: "t1" } })).toBe(
      true,
    );
    expect(evaluateCondition(update, item, names, { ":expected": { N: "2" }, ":token": { S: "t1" } })).toBe(
      false,
    );
    expect(
      evaluateCondition(update, undefined, names, { ":expected": { N: "3" }, ":token": { S: "t1" } }),
    ).toBe(false);
  });

  it("refuses an expression it does not model", () => {
    expect(() => evaluateCondition("begins_with(#token, :t)", item, names, { ":t": { S: "t" } })).toThrow(
      "unsupported condition term",
    );
  });
});
