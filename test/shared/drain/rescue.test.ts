import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import type { RuntimeGroup } from "../../../shared/config/runtime-config.js";
import { type DrainDeps, onDrainRecheck, startDrain } from "../../../shared/drain/drain.js";
import { RESCUE_REASON, rescueDrain } from "../../../shared/drain/rescue.js";
import { SkipEventError } from "../../../shared/errors.js";
import type { TerminateEvent } from "../../../shared/events/parse-terminate-action.js";
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
const group = config.groups[0] as RuntimeGroup;
let now: number;
let drains: MemoryDrains;
let scheduled: ScheduledDrainRecheck[];
let deps: DrainDeps;

beforeEach(() => {
  now = 5_000_000;
  ({ drains, scheduled, deps } = drainWiring(autoScaling, ssm, () => now));
  ssm.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
});

const rescue = () => rescueDrain(deps, group, INSTANCE);
const recheckLast = () => {
  const last = scheduled.at(-1);
  if (!last) throw new Error("nothing scheduled");
  return onDrainRecheck(deps, { kind: "drain-recheck", instanceId: last.instanceId, token: last.token });
};
const lifecycleCalls = () => [
  ...autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand).map((c) => c.args[0].input),
  ...autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input),
];
const terminateEvent = (waitStartedAt: number): TerminateEvent => ({
  kind: "terminate",
  instanceId: INSTANCE,
  groupName: GROUP,
  hookName: HOOK,
  token: TOKEN,
  destination: "EC2",
  waitStartedAt,
});

describe("rescueDrain: an instance in Terminating:Wait whose terminate event never came", () => {
  it("heartbeats the drain hook by instance id, records the drain with its reason, and hands the send to a re-check", async () => {
    expect(await rescue()).toEqual({ action: "drain-rescued", detail: RESCUE_REASON });
    expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)[0]?.args[0].input).toEqual({
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      InstanceId: INSTANCE,
    });
    const record = drains.records.get(INSTANCE);
    expect(record).toMatchObject({
      phase: "sending",
      rescued: RESCUE_REASON,
      destination: "unknown", // no event says whether it is terminated or goes back to a warm pool
      startedAt: now,
      deadline: now + 120_000,
      lastHeartbeatAt: now,
      version: 1,
    });
    expect(record?.sentAt).toBeUndefined();
    expect(scheduled).toEqual([{ instanceId: INSTANCE, token: record?.token, delaySeconds: 0 }]);
    // The reconciler sends nothing itself: the launch function's re-check does.
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(0);
  });

  it("the re-check sends the drain at once and completes the hook by instance id, never with a token", async () => {
    await rescue();
    now += 1_000;
    await recheckLast();
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "draining", commandId: "cmd-1" });

    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    now += 30_000;
    await recheckLast();
    const completions = autoScaling.commandCalls(CompleteLifecycleActionCommand).map((c) => c.args[0].input);
    expect(completions).toEqual([
      {
        AutoScalingGroupName: GROUP,
        LifecycleHookName: HOOK,
        InstanceId: INSTANCE,
        LifecycleActionResult: "CONTINUE",
      },
    ]);
    const record = drains.records.get(INSTANCE);
    expect(record).toMatchObject({ phase: "done", outcome: "drained" });
    expect(record?.reason).toBe(`drained in 31s; ${RESCUE_REASON}`);
    expect(lifecycleCalls().every((input) => !("LifecycleActionToken" in input))).toBe(true);
  });

  it("at the limit, a rescued drain still running is completed (termination is never blocked)", async () => {
    await rescue();
    await recheckLast();
    now += 121_000;
    await recheckLast();
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "done", outcome: "overran" });
    expect(autoScaling.commandCalls(CompleteLifecycleActionCommand)).toHaveLength(1);
  });

  it("is never started twice: a later run finds the drain in progress, then recently finished", async () => {
    await rescue();
    now += 120_000 - 1;
    expect((await rescue()).action).toBe("drain-in-progress");
    await recheckLast(); // sends
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    await recheckLast(); // finishes
    now += 100_000; // Describe* may still list it as waiting for a moment
    expect((await rescue()).action).toBe("drain-finished");
    expect(autoScaling.commandCalls(RecordLifecycleActionHeartbeatCommand)).toHaveLength(1);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("a drain the terminate event started is left to it", async () => {
    await startDrain(deps, terminateEvent(now));
    const before = scheduled.length;
    expect(await rescue()).toEqual({ action: "drain-in-progress", detail: "draining" });
    expect(scheduled).toHaveLength(before);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("the event arriving late for the rescued wait starts nothing more; an event for a later wait does", async () => {
    const foundAt = now;
    await rescue();
    await expect(startDrain(deps, terminateEvent(foundAt - 30_000))).rejects.toBeInstanceOf(SkipEventError);
    await recheckLast();
    ssm.on(GetCommandInvocationCommand).resolves({ Status: "Success" });
    await recheckLast();
    // Done, and the event (for a wait that began before the rescue) still arrives: nothing.
    await expect(startDrain(deps, terminateEvent(foundAt - 30_000))).rejects.toBeInstanceOf(SkipEventError);
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
    // An hour later the instance (back from a warm pool) leaves again: its own drain.
    now += 3_600_000;
    await startDrain(deps, terminateEvent(now));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(2);
    expect(drains.records.get(INSTANCE)).toMatchObject({ token: TOKEN, phase: "draining" });
  });

  it("racing the event for the drain record: one drain, one command", async () => {
    const results = await Promise.allSettled([rescue(), startDrain(deps, terminateEvent(now))]);
    expect(results[0]?.status).toBe("fulfilled");
    await Promise.allSettled(scheduled.map(() => recheckLast()));
    expect(ssm.commandCalls(SendCommandCommand)).toHaveLength(1);
  });

  it("an instance our drain hook does not hold is left alone", async () => {
    autoScaling
      .on(RecordLifecycleActionHeartbeatCommand)
      .rejects(new Error(`No active Lifecycle Action found with instance ID ${INSTANCE}`));
    expect(await rescue()).toEqual({ action: "stopped", detail: "not waiting at the drain hook" });
    expect(drains.records.size).toBe(0);
    expect(scheduled).toEqual([]);
  });

  it("a drain whose re-check chain died is kicked once it is past its limit", async () => {
    await rescue();
    scheduled.length = 0;
    now += 120_000 + 60_000 + 1;
    expect((await rescue()).action).toBe("drain-kicked");
    expect(scheduled).toEqual([expect.objectContaining({ instanceId: INSTANCE, delaySeconds: 0 })]);
    await recheckLast();
    expect(drains.records.get(INSTANCE)).toMatchObject({ phase: "done", outcome: "overran" });
  });

  it("a group without drain is not touched", async () => {
    const { drain: _drain, ...plain } = group;
    expect((await rescueDrain(deps, plain, INSTANCE)).action).toBe("stopped");
    expect(lifecycleCalls()).toEqual([]);
  });
});
