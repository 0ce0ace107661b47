import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { continueLaunch } from "../../../shared/gate/finish.js";
import { reconcile } from "../../../shared/gate/reconcile.js";
import { advance } from "../../../shared/gate/record.js";
import { startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  groupDescription,
  hookAcceptsCompletion,
  lifecycleState,
  noActiveLifecycleAction,
} from "../../support/aws-stubs.js";
import { launchEvent } from "../../support/events.js";
import {
  type GateHarness,
  GROUP,
  gateHarness,
  HOOK,
  INSTANCE_ID,
  TOKEN,
} from "../../support/gate-harness.js";

let h: GateHarness;

function groupInstances(instances: { id: string; state: string }[]): void {
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription(instances)] });
}

beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, undefined);
  groupInstances([
    { id: INSTANCE_ID, state: "Pending:Wait" },
    { id: "i-0aaaaaaaaaaaaaaa1", state: "InService" },
  ]);
});

describe("reconcile: a wait without a record", () => {
  it("is sighted first: its hook heartbeated by instance id, a placeholder saved, nothing sent", async () => {
    expect(await reconcile(h.deps)).toEqual([{ group: GROUP, instanceId: INSTANCE_ID, action: "sighted" }]);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      InstanceId: INSTANCE_ID,
    });
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "sighted",
      token: `instance:${INSTANCE_ID}@${h.now()}`,
    });
    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("is adopted on a later run, once its lifecycle event had time to arrive", async () => {
    await reconcile(h.deps);
    h.advanceSeconds(120);
    expect((await reconcile(h.deps))[0]?.action).toBe("in-progress");

    h.advanceSeconds(180);
    expect((await reconcile(h.deps))[0]?.action).toBe("adopted");
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "awaiting-agent", deadline: h.now() + 2400_000 });
    expect(h.rechecks.last()).toEqual({
      message: {
        step: "agent",
        instanceId: INSTANCE_ID,
        token: `instance:${INSTANCE_ID}@${h.now() - 300_000}`,
      },
      delaySeconds: 0,
    });
  });

  it("gives way to the real lifecycle event if it arrives after the sighting", async () => {
    await reconcile(h.deps);
    await startGate(h.deps, launchEvent());
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "awaiting-agent", token: TOKEN });
  });

  it("is completed by instance id when it has no token", async () => {
    await reconcile(h.deps);
    h.advanceSeconds(300);
    await reconcile(h.deps);
    await continueLaunch(h.deps, h.store.get(INSTANCE_ID), "healthy");
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      InstanceId: INSTANCE_ID,
      LifecycleActionResult: "CONTINUE",
    });
    const call = h.autoScalingMock.commandCalls(CompleteLifecycleActionCommand)[0];
    expect(call?.args[0].input.LifecycleActionToken).toBeUndefined();
  });
});

describe("reconcile: a wait with a record", () => {
  beforeEach(async () => {
    await startGate(h.deps, launchEvent());
  });

  it("delivers an outcome that was claimed but never sent", async () => {
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(
      INSTANCE_ID,
      advance(record, { phase: "continued", outcome: "CONTINUE", reason: "healthy" }, "healthy", h.now()),
    );

    expect((await reconcile(h.deps))[0]?.action).toBe("completion-resumed");
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("treats a finished record of an earlier wait as no record (a new wait whose event was missed)", async () => {
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(
      INSTANCE_ID,
      advance(record, { phase: "continued", outcome: "CONTINUE", reason: "healthy" }, "healthy", h.now()),
    );
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());

    expect((await reconcile(h.deps))[0]?.action).toBe("sighted");
  });

  it("abandons a wait past its deadline, with the reason", async () => {
    h.advanceSeconds(2401);
    expect((await reconcile(h.deps))[0]).toMatchObject({ action: "abandoned", detail: "awaiting-agent" });
    expect(h.store.get(INSTANCE_ID).reason).toMatch(
      /^launch gate deadline of 2400 s passed while awaiting-agent/,
    );
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });

  it("leaves a live chain alone, but records a heartbeat when one is due", async () => {
    expect((await reconcile(h.deps))[0]?.action).toBe("in-progress");
    h.advanceSeconds(210);
    expect((await reconcile(h.deps))[0]?.action).toBe("heartbeat");
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(h.rechecks.scheduled.filter((s) => s.delaySeconds === 0)).toHaveLength(1); // only startGate's kick
  });

  it("re-kicks a chain when nothing has moved for too long", async () => {
    h.advanceSeconds(501);
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "kicked",
      detail: "awaiting-agent: no progress for over 500 s",
    });
    expect(h.rechecks.last()).toEqual({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 0,
    });
  });

  it("reports a wait that ended meanwhile as stopped, not as an error", async () => {
    h.advanceSeconds(210);
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "stopped",
      detail: "hook no longer waiting; heartbeat refused",
    });
  });

  it("reports one instance's failure and carries on with the others", async () => {
    groupInstances([
      { id: INSTANCE_ID, state: "Pending:Wait" },
      { id: "i-0bbbbbbbbbbbbbbb2", state: "Pending:Wait" },
    ]);
    const load = h.store.load.bind(h.store);
    h.store.load = async (id) => {
      if (id === INSTANCE_ID) throw new Error("DynamoDB throttled");
      return load(id);
    };
    const entries = await reconcile(h.deps);
    expect(entries).toEqual([
      { group: GROUP, instanceId: INSTANCE_ID, action: "error", detail: "DynamoDB throttled" },
      { group: GROUP, instanceId: "i-0bbbbbbbbbbbbbbb2", action: "sighted" },
    ]);
  });
});
