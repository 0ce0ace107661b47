import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { beforeEach, describe, expect, it } from "vitest";
import { continueLaunch } from "../../../shared/gate/finish.js";
import { keepAlive } from "../../../shared/gate/keep-alive.js";
import { COMPLETION_LEASE_SECONDS, reconcile } from "../../../shared/gate/reconcile.js";
import { advance } from "../../../shared/gate/record.js";
import { startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  groupDescription,
  hookAcceptsCompletion,
  lifecycleState,
  noActiveLifecycleAction,
  targetHealth,
} from "../../support/aws-stubs.js";
import { launchEvent } from "../../support/events.js";
import {
  type GateHarness,
  GROUP,
  gateHarness,
  HOOK,
  INSTANCE_ID,
  TG_ARN,
  TOKEN,
} from "../../support/gate-harness.js";

let h: GateHarness;

/** The reconciler's rescues counted in metrics (per action), and the abandons' reason classes. */
const rescues = () =>
  h.metrics.filter((datum) => datum.name === "ReconcilerRescues").map((datum) => datum.alsoBy?.action);
const abandonReasons = () =>
  h.metrics.filter((datum) => datum.name === "LaunchesAbandoned").map((datum) => datum.alsoBy?.reason);

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

    expect(rescues()).toEqual([]);
    h.advanceSeconds(180);
    expect((await reconcile(h.deps))[0]?.action).toBe("adopted");
    // Adoption opens the gate (a launch started) and is counted as a rescue: the event never came.
    expect(rescues()).toEqual(["adopted"]);
    expect(h.metrics.filter((datum) => datum.name === "LaunchesStarted")).toHaveLength(1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "awaiting-agent", deadline: h.now() + 2400_000 });
    expect(h.rechecks.last()).toMatchObject({
      message: {
        step: "agent",
        instanceId: INSTANCE_ID,
        token: `instance:${INSTANCE_ID}@${h.now() - 300_000}`,
      },
      delaySeconds: 0,
    });
  });

  it("heartbeats a sighted wait on the run before its heartbeat comes due: it has no other keeper", async () => {
    await reconcile(h.deps);
    const heartbeats = () => h.autoScalingMock.commandCalls(RecordLifecycleActionHeartbeatCommand).length;
    // The ceiling is 200 s at 600 s: due 200 s after sighting. A run at 70 s leaves it to the next.
    h.advanceSeconds(70);
    await reconcile(h.deps);
    expect(heartbeats()).toBe(1);
    // A run at 100 s comes within a run's interval (120 s) of it: sent now, not up to 120 s late.
    h.advanceSeconds(30);
    expect((await reconcile(h.deps))[0]?.action).toBe("in-progress");
    expect(heartbeats()).toBe(2);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sighted", lastHeartbeatAt: h.now() });
  });

  it("heartbeats the hook as it adopts, when the heartbeat is due by then", async () => {
    await reconcile(h.deps);
    const heartbeats = () => h.autoScalingMock.commandCalls(RecordLifecycleActionHeartbeatCommand).length;
    expect(heartbeats()).toBe(1); // at sighting
    // A run well before the heartbeat is due (200 s at 600 s), then the next, late, when adoption is due.
    h.advanceSeconds(70);
    expect((await reconcile(h.deps))[0]?.action).toBe("in-progress");
    expect(heartbeats()).toBe(1);
    h.advanceSeconds(180);
    expect((await reconcile(h.deps))[0]?.action).toBe("adopted");
    expect(heartbeats()).toBe(2);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "awaiting-agent", lastHeartbeatAt: h.now() });
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

  /** Claims an outcome for the test wait, as continueLaunch/abandonLaunch do before completing. */
  function claim(outcome: "CONTINUE" | "ABANDON"): void {
    const phase = outcome === "CONTINUE" ? "continued" : "abandoned";
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, advance(record, { phase, outcome, reason: "done" }, "done", h.now()));
  }

  it("delivers an outcome that was claimed but never sent, once the claimer's lease has passed", async () => {
    claim("CONTINUE");
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);

    expect((await reconcile(h.deps))[0]?.action).toBe("completion-resumed");
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("leaves an outcome claimed within the lease to its claimer: no second CompleteLifecycleAction", async () => {
    claim("CONTINUE");
    h.advanceSeconds(COMPLETION_LEASE_SECONDS - 1);

    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "in-progress",
      detail: "CONTINUE claimed 59 s ago; being delivered",
    });
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 0);
  });

  it("stops quietly when the claimed outcome turns out applied by its claimer meanwhile", async () => {
    claim("CONTINUE");
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    lifecycleState(h, "InService");
    const before = h.store.get(INSTANCE_ID);

    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "stopped",
      detail: "CONTINUE already applied",
    });
    expect(h.store.get(INSTANCE_ID)).toEqual(before);
    expect(h.logs.filter((line) => line.level === "warn").map((line) => line.message)).toEqual([
      "resuming an interrupted completion",
    ]);
  });

  it("treats a finished record of an earlier wait as no record (a new wait whose event was missed)", async () => {
    claim("CONTINUE");
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());

    expect((await reconcile(h.deps))[0]?.action).toBe("sighted");
  });

  it("abandons a wait past its deadline, with the reason", async () => {
    h.advanceSeconds(2401);
    expect((await reconcile(h.deps))[0]).toMatchObject({ action: "abandoned", detail: "awaiting-agent" });
    expect(h.store.get(INSTANCE_ID).reason).toMatch(
      /^launch gate deadline of 2400 s passed while awaiting-agent/,
    );
    expect(rescues()).toEqual(["decided-at-deadline"]);
    expect(abandonReasons()).toEqual(["gate-timeout"]);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });

  it("continues, not abandons, a wait past its deadline that is healthy in every target group", async () => {
    const record = h.store.get(INSTANCE_ID);
    const target = {
      targetGroupArn: TG_ARN,
      name: "cnt-backend-tg",
      port: 8000,
      intervalSeconds: 30,
      healthyThreshold: 5,
      healthCheck: "HTTP /health",
      loadBalancerArns: [],
    };
    h.store.records.set(
      INSTANCE_ID,
      advance(
        record,
        { phase: "awaiting-health", registered: [target], registeredAt: h.now() },
        "registered",
        h.now(),
      ),
    );
    targetHealth(h, "healthy");
    h.advanceSeconds(2401);
    expect((await reconcile(h.deps))[0]).toMatchObject({ action: "continued", detail: "awaiting-health" });
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("leaves a live chain alone, but records a heartbeat when one is due", async () => {
    expect((await reconcile(h.deps))[0]?.action).toBe("in-progress");
    h.advanceSeconds(210);
    expect((await reconcile(h.deps))[0]?.action).toBe("heartbeat");
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    // Nothing kicked: the only re-check is startGate's first agent check (on the grid, a pace away).
    expect(h.rechecks.scheduled.filter((s) => s.delaySeconds === 0)).toHaveLength(0);
    expect(h.rechecks.scheduled).toHaveLength(1);
    expect(rescues()).toEqual([]);
  });

  it("re-kicks a chain when nothing has moved for too long", async () => {
    h.advanceSeconds(501);
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "kicked",
      detail: "awaiting-agent: no progress for over 500 s",
    });
    expect(rescues()).toEqual(["kicked"]);
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 0,
    });
  });

  it("does not kick a chain that moved the wait on after the run read it (a slow, throttled run)", async () => {
    h.advanceSeconds(501);
    const readAtRunStart = h.store.get(INSTANCE_ID);
    const loadMany = h.store.loadMany.bind(h.store);
    h.store.loadMany = async (ids) => {
      const found = await loadMany(ids);
      // The chain's step saves just after the run's read.
      await keepAlive(h.deps, readAtRunStart, 600);
      return found;
    };
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "in-progress",
      detail: "awaiting-agent: moved on while the reconciler looked",
    });
    expect(h.rechecks.scheduled.filter((s) => s.delaySeconds === 0)).toHaveLength(0);
    expect(rescues()).toEqual([]);
  });

  it("kicks a dead chain once its stall threshold passes, though the reconciler heartbeats it every run", async () => {
    h.advanceSeconds(300);
    expect((await reconcile(h.deps))[0]?.action).toBe("heartbeat");
    h.advanceSeconds(300);
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "kicked",
      detail: "awaiting-agent: no progress for over 500 s",
    });
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 2);
    expect(h.store.get(INSTANCE_ID).chainSeenAt).toBeUndefined();
  });

  it("never kicks a live chain, even when the reconciler's heartbeats came between the chain's", async () => {
    const actions: string[] = [];
    for (let second = 100; second <= 1800; second += 100) {
      h.advanceSeconds(100);
      await keepAlive(h.deps, h.store.get(INSTANCE_ID), 600); // the chain's re-check
      if (second % 300 === 0) actions.push(...(await reconcile(h.deps)).map((entry) => entry.action));
    }
    expect(actions).toHaveLength(6);
    expect(actions).not.toContain("kicked");
    expect(h.store.get(INSTANCE_ID).chainSeenAt).toBe(h.now());
  });

  it("reports a wait that ended meanwhile as stopped, not as an error", async () => {
    h.advanceSeconds(210);
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());
    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "stopped",
      detail: "hook no longer waiting; heartbeat refused",
    });
  });

  it("stops quietly when its heartbeat is refused because another invocation just finished the wait", async () => {
    h.advanceSeconds(210);
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(() => {
      claim("CONTINUE"); // the health gate completed the wait a moment before
      throw noActiveLifecycleAction();
    });
    const describes = h.autoScalingMock.commandCalls(DescribeAutoScalingInstancesCommand).length;

    expect((await reconcile(h.deps))[0]).toMatchObject({
      action: "stopped",
      detail: "hook no longer waiting; another invocation already moved the record to continued",
    });
    expect(h.store.get(INSTANCE_ID).phase).toBe("continued");
    expect(h.autoScalingMock.commandCalls(DescribeAutoScalingInstancesCommand)).toHaveLength(describes);
  });

  it("reports one instance's failure and carries on with the others", async () => {
    groupInstances([
      { id: INSTANCE_ID, state: "Pending:Wait" },
      { id: "i-0bbbbbbbbbbbbbbb2", state: "Pending:Wait" },
    ]);
    const save = h.store.save.bind(h.store);
    h.store.save = async (record) => {
      if (record.instanceId !== INSTANCE_ID) throw new Error("DynamoDB throttled");
      return save(record);
    };
    h.advanceSeconds(210);
    const entries = await reconcile(h.deps);
    expect(entries).toEqual([
      { group: GROUP, instanceId: "i-0bbbbbbbbbbbbbbb2", action: "error", detail: "DynamoDB throttled" },
      { group: GROUP, instanceId: INSTANCE_ID, action: "heartbeat", detail: "awaiting-agent" },
    ]);
  });

  it("reports every wait of a group whose records cannot be read as an error", async () => {
    groupInstances([
      { id: INSTANCE_ID, state: "Pending:Wait" },
      { id: "i-0bbbbbbbbbbbbbbb2", state: "Pending:Wait" },
    ]);
    h.store.loadMany = async () => {
      throw new Error("DynamoDB throttled");
    };
    expect((await reconcile(h.deps)).map((entry) => [entry.action, entry.detail])).toEqual([
      ["error", "DynamoDB throttled"],
      ["error", "DynamoDB throttled"],
    ]);
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 0);
  });
});

describe("reconcile: trouble within one run", () => {
  const throttled = () => Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });

  it("tries a throttled wait again later in the same run, when it has a time budget", async () => {
    let pauses = 0;
    const deps = {
      ...h.deps,
      sleep: async () => {
        pauses += 1;
      },
    };
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejectsOnce(throttled()).resolves({});
    const entries = await reconcile(deps, { remainingMs: () => 240_000 });
    expect(entries).toEqual([{ group: GROUP, instanceId: INSTANCE_ID, action: "sighted" }]);
    expect(pauses).toBe(1);
  });

  it("without a time budget, reports the error and leaves it to the next run", async () => {
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(throttled());
    const [entry] = await reconcile(h.deps);
    expect(entry).toMatchObject({ action: "error", detail: "Rate exceeded" });
  });

  it("reads a group again later in the run when its first read failed", async () => {
    const deps = { ...h.deps, sleep: async () => {} };
    h.autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .rejectsOnce(throttled())
      .resolves({ AutoScalingGroups: [groupDescription([{ id: INSTANCE_ID, state: "Pending:Wait" }])] });
    expect(await reconcile(deps, { remainingMs: () => 240_000 })).toEqual([
      { group: GROUP, instanceId: INSTANCE_ID, action: "sighted" },
    ]);
  });

  it("reports a group whose read fails instead of failing the whole run", async () => {
    h.autoScalingMock.on(DescribeAutoScalingGroupsCommand).rejects(throttled());
    expect(await reconcile(h.deps)).toEqual([
      { group: GROUP, instanceId: "-", action: "error", detail: "Rate exceeded" },
    ]);
  });
});
