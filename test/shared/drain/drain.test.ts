import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { type DrainDeps, onDrainRecheck, startDrain } from "../../../shared/drain/drain.js";
import { SkipEventError } from "../../../shared/errors.js";
import { parseDrainRecheck } from "../../../shared/events/parse-drain-recheck.js";
import { parseTerminateAction, type TerminateEvent } from "../../../shared/events/parse-terminate-action.js";
import { terminateLifecyclePattern } from "../../../shared/events/patterns.js";
import {
  config,
  drainWiring,
  GROUP,
  HOOK,
  INSTANCE,
  type MemoryDrains,
  type ScheduledDrainRecheck,
  TOKEN,
} from "./drain-support.js";

const autoScaling = mockClient(AutoScalingClient);
const ssm = mockClient(SSMClient);
let now: number;
let drains: MemoryDrains;
let scheduled: ScheduledDrainRecheck[];
let deps: DrainDeps;

const event: TerminateEvent = {
  kind: "terminate",
  instanceId: INSTANCE,
  groupName: GROUP,
  hookName: HOOK,
  token: TOKEN,
  destination: "EC2",
};

beforeEach(() => {
  now = 1_000_000;
  ({ drains, scheduled, deps } = drainWiring(autoScaling, ssm, () => now));
});

const recheck = () => onDrainRecheck(deps, { kind: "drain-recheck", instanceId: INSTANCE, token: TOKEN });
const completions = () =>
  autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input);

describe("startDrain", () => {
  it("records the drain, schedules a re-check, sends the document with phase drain", async () => {
    await startDrain(deps, event);
    const sends = ssm.commandCalls(SendCommandCommand);
    expect(sends).toHaveLength(1);
    expect(sends[0]?.args[0].input).toMatchObject({
      DocumentName: "doc-bootstrap",
      InstanceIds: [INSTANCE],
      Parameters: { phase: ["drain"], trigger: ["scale-in"] },
    });
    expect(drains.records.get(INSTANCE)).toMatchObject({
      phase: "draining",
      commandId: "cmd-1",
      deadline: now + 120_000,
    });
    expect(scheduled).toEqual([{ instanceId: INSTANCE, token: TOKEN, delaySeconds: 10 }]);
  });

  it("an instance going back to the warm pool (Destination WarmPool) is drained the same way, and says where it goes", async () => {
    await startDrain(deps, { ...event, destination: "WarmPool" });
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input).toMatchObject({
      Parameters: { phase: ["drain"], trigger: ["scale-in"] },
    });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    now += 30_000;
    await recheck();
    expect(completions()).toEqual([
      expect.objectContaining({ LifecycleActionResult: "CONTINUE", LifecycleHookName: HOOK }),
    ]);
    expect(drains.records.get(INSTANCE)).toMatchObject({
      destination: "WarmPool",
      phase: "done",
      outcome: "drained",
    });
  });

  it("a duplicate event sends nothing more", async () => {
    await startDrain(deps, event);
    await expect(startDrain(deps, event)).rejects.toBeInstanceOf(SkipEventError);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("two copies racing: one sends, the other loses the conditional write", async () => {
    const results = await Promise.allSettled([startDrain(deps, event), startDrain(deps, event)]);
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("a group without drain, or another hook, is skipped", async () => {
    await expect(startDrain(deps, { ...event, hookName: "other" })).rejects.toBeInstanceOf(SkipEventError);
    await expect(startDrain(deps, { ...event, groupName: "nope" })).rejects.toBeInstanceOf(SkipEventError);
  });

  it("a command SSM refuses completes the hook with CONTINUE at once, recorded not-sent", async () => {
    ssm
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error("Instances not in a valid state"), { name: "InvalidInstanceId" }));
    await startDrain(deps, event);
    expect(completions()).toEqual([
      expect.objectContaining({ LifecycleActionResult: "CONTINUE", LifecycleActionToken: TOKEN }),
    ]);
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "done", outcome: "not-sent" });
  });
});

describe("onDrainRecheck", () => {
  beforeEach(async () => {
    await startDrain(deps, event);
  });

  it("a running drain is followed (and not completed)", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
    now += 10_000;
    await recheck();
    expect(completions()).toEqual([]);
    expect(scheduled).toHaveLength(2);
  });

  it("an invocation not visible yet is waited for", async () => {
    ssm.on(GetCommandInvocationCommand).rejects(new InvocationDoesNotExist({ message: "no", $metadata: {} }));
    now += 10_000;
    await recheck();
    expect(completions()).toEqual([]);
  });

  it("a drain that succeeds completes CONTINUE and records drained", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    now += 30_000;
    await recheck();
    expect(completions()).toEqual([
      expect.objectContaining({ LifecycleActionResult: "CONTINUE", LifecycleHookName: HOOK }),
    ]);
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "done", outcome: "drained" });
    await expect(recheck()).rejects.toBeInstanceOf(SkipEventError);
    expect(completions()).toHaveLength(1);
  });

  it("a drain that fails still completes CONTINUE, with the reason", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: "Failed",
      StandardOutputContent: "launchgate: step drain\nlaunchgate: FAILED step drain (exit 1)\n",
    });
    now += 20_000;
    await recheck();
    expect(completions()).toEqual([expect.objectContaining({ LifecycleActionResult: "CONTINUE" })]);
    expect(drains.records.get(INSTANCE)).toMatchObject({ outcome: "drain-failed" });
    expect(drains.records.get(INSTANCE)?.reason).toMatch(/ended Failed: launchgate: FAILED step drain/);
  });

  it("a drain the script itself cut at its limit is recorded as overran", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: "Failed",
      StandardOutputContent:
        "launchgate: drain overran its limit of 100s: the containers still running were killed\nlaunchgate: FAILED step stop-containers (exit 3)\n",
    });
    now += 110_000;
    await recheck();
    expect(completions()).toHaveLength(1);
    expect(drains.records.get(INSTANCE)).toMatchObject({ outcome: "overran" });
    expect(drains.records.get(INSTANCE)?.reason).toMatch(/^drain overran its limit of 100s/);
  });

  it("past the limit with the command still running: completes CONTINUE, 'drain overran its limit'", async () => {
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
    now += 120_000;
    await recheck();
    expect(completions()).toEqual([expect.objectContaining({ LifecycleActionResult: "CONTINUE" })]);
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "done", outcome: "overran" });
    expect(drains.records.get(INSTANCE)?.reason).toMatch(/drain overran its limit of 120s/);
  });

  it("a hook no longer waiting still records the outcome", async () => {
    autoScaling
      .on(CompleteLifecycleActionCommand)
      .rejects(new Error(`No active Lifecycle Action found with token ${TOKEN}`));
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    await recheck();
    expect(drains.records.get(INSTANCE)?.reason).toMatch(/no longer waiting/);
  });

  it("heartbeats the hook once a third of its timeout has passed", async () => {
    const long = {
      ...config,
      groups: config.groups.map((g) => ({ ...g, drain: { hookName: HOOK, timeoutSeconds: 3600 } })),
    };
    deps = { ...deps, config: long };
    drains.records.clear();
    await startDrain(deps, { ...event, token: "t2" });
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
    now += 1400_000; // > 3900 s / 3
    await onDrainRecheck(deps, { kind: "drain-recheck", instanceId: INSTANCE, token: "t2" });
    expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(1);
  });
});

describe("events", () => {
  it("parses a terminate lifecycle action and a drain re-check", () => {
    const parsed = parseTerminateAction({
      source: "aws.autoscaling",
      "detail-type": "EC2 Instance-terminate Lifecycle Action",
      time: "2026-01-01T00:00:00Z",
      detail: {
        LifecycleActionToken: TOKEN,
        AutoScalingGroupName: GROUP,
        LifecycleHookName: HOOK,
        EC2InstanceId: INSTANCE,
        LifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
        Origin: "AutoScalingGroup",
        Destination: "EC2",
      },
    });
    expect(parsed).toEqual({ ...event, waitStartedAt: Date.parse("2026-01-01T00:00:00Z") });
    expect(parseDrainRecheck(JSON.stringify({ step: "drain", instanceId: INSTANCE, token: TOKEN }))).toEqual({
      kind: "drain-recheck",
      instanceId: INSTANCE,
      token: TOKEN,
    });
    const retry = { step: "drain", instanceId: INSTANCE, token: TOKEN, attempt: 2 };
    expect(parseDrainRecheck(JSON.stringify(retry))).toMatchObject({ attempt: 2 });
    for (const attempt of [0, -1, 1.5, "2"])
      expect(() => parseDrainRecheck(JSON.stringify({ ...retry, attempt }))).toThrow(/attempt/);
  });

  it("the pattern names only draining groups' drain hooks", () => {
    expect(terminateLifecyclePattern([{ name: "a" }])).toBeUndefined();
    expect(terminateLifecyclePattern([{ name: "a" }, { name: "b", drain: { hookName: "b-drain" } }])).toEqual(
      {
        source: ["aws.autoscaling"],
        "detail-type": ["EC2 Instance-terminate Lifecycle Action"],
        detail: { AutoScalingGroupName: ["b"], LifecycleHookName: ["b-drain"] },
      },
    );
  });
});
