import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { beforeEach, describe, expect, it } from "vitest";
import type { RuntimeGroup } from "../../../shared/config/runtime-config.js";
import { onCommandFinished } from "../../../shared/gate/command-outcome.js";
import { finishPastDeadline, onHealthRecheck } from "../../../shared/gate/health-gate.js";
import { gridDelaySeconds } from "../../../shared/gate/keep-alive.js";
import { COMPLETION_LEASE_SECONDS } from "../../../shared/gate/reconcile.js";
import {
  ADMIN_TARGET_GROUP,
  agentPing,
  awsServiceError,
  CNT_TARGET_GROUP,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  lifecycleState,
  loadBalancerZones,
  noActiveLifecycleAction,
  sendCommandReturns,
  targetHealth,
  targetHealthIn,
} from "../../support/aws-stubs.js";
import { openGate } from "../../support/drive.js";
import { commandFinished, launchEvent, recheck } from "../../support/events.js";
import {
  ADMIN_TG_ARN,
  configWithTargetGroups,
  type GateHarness,
  GROUP,
  gateHarness,
  HOOK,
  INSTANCE_ID,
  RUNTIME_CONFIG,
  TG_ARN,
  TOKEN,
} from "../../support/gate-harness.js";
import { withPollClients } from "../../support/poll-clients.js";

let h: GateHarness;

/** Drives a launch up to "registered, waiting for healthy". */
async function registered(
  harness: GateHarness,
  zone = "eu-west-2a",
  targetGroups = [CNT_TARGET_GROUP],
): Promise<void> {
  lifecycleState(harness, "Pending:Wait", zone);
  hookAcceptsCompletion(harness);
  agentPing(harness, "Online");
  sendCommandReturns(harness, "cmd-1");
  groupTargetGroups(harness, targetGroups);
  targetHealth(harness, "unused", "Target.NotRegistered");
  await openGate(harness, launchEvent());
  invocation(harness, { status: "Success" });
  await onCommandFinished(harness.deps, commandFinished("cmd-1"));
}

/**
 * A gate registered with a target group whose health budget, 300 s × (10 + 1) + 30 s = 3330 s, is
 * capped at the gate's 2400 s deadline: only the overall deadline can end its health wait.
 */
async function slowHealthGate(): Promise<GateHarness> {
  const slow = gateHarness();
  await registered(slow, "eu-west-2a", [
    { ...CNT_TARGET_GROUP, HealthCheckIntervalSeconds: 300, HealthyThresholdCount: 10 },
  ]);
  const record = slow.store.get(INSTANCE_ID);
  expect(record.phaseDeadline).toBe(record.deadline);
  return slow;
}

beforeEach(async () => {
  h = gateHarness();
  await registered(h);
});

describe("the health gate", () => {
  it("completes with CONTINUE and the token only once the target is healthy", async () => {
    targetHealth(h, "initial", "Elb.InitialHealthChecking");
    h.advanceSeconds(30);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(h.rechecks.last().message.step).toBe("health");

    targetHealth(h, "healthy");
    h.advanceSeconds(30);
    await onHealthRecheck(h.deps, recheck("health"));

    expect(h.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "CONTINUE",
    });
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "continued",
      outcome: "CONTINUE",
      reason: "healthy in cnt-backend-tg 60 s after registration",
    });
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it("names the zone mismatch behind Target.NotInUse, deregisters and abandons", async () => {
    const gate = gateHarness();
    await registered(gate, "eu-west-2c");
    targetHealth(
      gate,
      "unused",
      "Target.NotInUse",
      "Target group is not configured to receive traffic from the load balancer",
    );
    loadBalancerZones(gate, ["eu-west-2a", "eu-west-2b"]);
    gate.advanceSeconds(30);

    await onHealthRecheck(gate.deps, recheck("health"));

    expect(gate.store.get(INSTANCE_ID).reason).toBe(
      "target group cnt-backend-tg reports Target.NotInUse: the instance is in eu-west-2c but load balancer cnt-alb has only eu-west-2a, eu-west-2b enabled: enable eu-west-2c on the load balancer or remove that zone's subnet from the Auto Scaling group",
    );
    expect(gate.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn: TG_ARN,
      Targets: [{ Id: INSTANCE_ID, Port: 8000 }],
    });
    expect(gate.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });

  it("says so when no listener uses the target group", async () => {
    const gate = gateHarness();
    lifecycleState(gate, "Pending:Wait");
    hookAcceptsCompletion(gate);
    agentPing(gate, "Online");
    sendCommandReturns(gate, "cmd-1");
    groupTargetGroups(gate, [{ ...CNT_TARGET_GROUP, LoadBalancerArns: [] }]);
    targetHealth(gate, "unused", "Target.NotRegistered");
    await openGate(gate, launchEvent());
    invocation(gate, { status: "Success" });
    await onCommandFinished(gate.deps, commandFinished("cmd-1"));
    targetHealth(gate, "unused", "Target.NotInUse");

    await onHealthRecheck(gate.deps, recheck("health"));

    expect(gate.store.get(INSTANCE_ID).reason).toBe(
      "target group cnt-backend-tg reports Target.NotInUse because no listener rule forwards to it: add a listener rule for it, or detach it from the Auto Scaling group",
    );
  });

  it("keeps waiting on Target.NotInUse when the zone is enabled (no cause to name yet)", async () => {
    targetHealth(h, "unused", "Target.NotInUse");
    loadBalancerZones(h, ["eu-west-2a", "eu-west-2b"]);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("abandons an app that never turns healthy, with the health check and the last reason", async () => {
    targetHealth(
      h,
      "unhealthy",
      "Target.ResponseCodeMismatch",
      "Health checks failed with these codes: [502]",
    );
    h.advanceSeconds(210);

    await onHealthRecheck(h.deps, recheck("health"));

    expect(h.store.get(INSTANCE_ID).reason).toBe(
      "not healthy after 210 s: target group cnt-backend-tg still reports unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [502]); health check: HTTP /health on traffic-port expecting 200, timeout 5 s, 5 passes 30 s apart. Check the app's health endpoint and the security group path from the load balancer",
    );
    expect(h.elbv2Mock).toHaveReceivedCommand(DeregisterTargetsCommand);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });

  it("believes Target.NotRegistered only after propagation time, then registers again", async () => {
    targetHealth(h, "unused", "Target.NotRegistered");
    h.advanceSeconds(10);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(RegisterTargetsCommand, 1);

    h.advanceSeconds(30);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(RegisterTargetsCommand, 2);
  });

  it("does not spend the health budget of a target that was never registered: it registers again and restarts it", async () => {
    targetHealth(h, "unused", "Target.NotRegistered");
    h.advanceSeconds(211); // past the 210 s budget (30 s × (5 + 1) + 30 s)
    await onHealthRecheck(h.deps, recheck("health"));
    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("awaiting-health");
    expect(record.phaseDeadline).toBe(h.now() + 210_000);
    expect(record.history.at(-1)?.note).toMatch(/^registering again with cnt-backend-tg/);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);

    targetHealth(h, "unhealthy", "Target.FailedHealthChecks");
    h.advanceSeconds(211);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.store.get(INSTANCE_ID).outcome).toBe("ABANDON");
  });

  it("treats 'No active Lifecycle Action' as already completed, and notes that our outcome did not apply", async () => {
    targetHealth(h, "healthy");
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());

    await onHealthRecheck(h.deps, recheck("health"));

    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("continued");
    expect(record.history.at(-1)?.note).toBe("hook no longer waiting when completing with CONTINUE");
  });

  it("deregisters what it registered when the hook is gone because the instance is terminating", async () => {
    targetHealth(h, "healthy");
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    lifecycleState(h, "Terminating:Wait");
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, { TargetGroupArn: TG_ARN });
  });

  it("takes a target the load balancer no longer knows (terminated) as not healthy, not as a failed step", async () => {
    h.elbv2Mock
      .on(DescribeTargetHealthCommand)
      .rejects(awsServiceError("InvalidTarget", "The following targets are not in a running state"));
    h.elbv2Mock.resetHistory();
    h.advanceSeconds(20);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(h.elbv2Mock).not.toHaveReceivedCommand(RegisterTargetsCommand);
  });

  it("never deregisters when the hook is gone because someone else put the instance InService", async () => {
    targetHealth(h, "healthy");
    h.autoScalingMock.on(CompleteLifecycleActionCommand).rejects(noActiveLifecycleAction());
    lifecycleState(h, "InService");
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it("looks densely while a first pass may come, then at the checks' own 30 s pace", async () => {
    targetHealth(h, "initial", "Elb.InitialHealthChecking");
    h.advanceSeconds(20);
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.rechecks.last().delaySeconds).toBeLessThanOrEqual(15); // a 10 s pace, on its grid
    h.advanceSeconds(60); // past one interval plus propagation
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.rechecks.last().delaySeconds).toBeGreaterThanOrEqual(15); // a 30 s pace, on its grid
  });

  it("asks Auto Scaling nothing while waiting: a health re-check reads the record and the target health", async () => {
    targetHealth(h, "initial", "Elb.InitialHealthChecking");
    h.advanceSeconds(20);
    h.autoScalingMock.resetHistory();
    h.elbv2Mock.resetHistory();
    await onHealthRecheck(h.deps, recheck("health"));
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1);
  });

  it("learns at its next heartbeat that the instance was terminated mid-run: stops and deregisters", async () => {
    targetHealth(h, "unhealthy", "Target.Timeout");
    lifecycleState(h, undefined);
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());
    h.advanceSeconds(200); // a heartbeat is due (a third of the 600 s heartbeat timeout)
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow(
      "hook no longer waiting; heartbeat refused",
    );
    expect(h.store.get(INSTANCE_ID)).toMatchObject({
      phase: "gone",
      reason: "instance is no longer in the group",
    });
    expect(h.elbv2Mock).toHaveReceivedCommand(DeregisterTargetsCommand);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("never deregisters an instance that someone else put InService", async () => {
    targetHealth(h, "initial", "Elb.InitialHealthChecking");
    lifecycleState(h, "InService");
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).rejects(noActiveLifecycleAction());
    h.advanceSeconds(200);
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("heartbeat refused");
    expect(h.store.get(INSTANCE_ID).phase).toBe("gone");
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it("abandons once the overall gate deadline has passed, when the health budget would run past it", async () => {
    const slow = await slowHealthGate();
    targetHealth(slow, "initial", "Elb.InitialHealthChecking");
    slow.advanceSeconds(2401);
    await expect(onHealthRecheck(slow.deps, recheck("health"))).rejects.toThrow("gate deadline passed");

    expect(slow.store.get(INSTANCE_ID).reason).toMatch(
      /^launch gate deadline of 2400 s passed while awaiting-health/,
    );
    expect(slow.store.get(INSTANCE_ID).reason).toContain(
      "target group cnt-backend-tg still reports initial (Elb.InitialHealthChecking)",
    );
    expect(slow.elbv2Mock).toHaveReceivedCommand(DeregisterTargetsCommand);
    expect(slow.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });

  it("continues, not abandons, an instance that turned healthy by the overall deadline", async () => {
    const slow = await slowHealthGate();
    targetHealth(slow, "healthy");
    slow.advanceSeconds(2401);

    await expect(onHealthRecheck(slow.deps, recheck("health"))).rejects.toThrow(
      "gate deadline passed; continued",
    );

    expect(slow.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);
    expect(slow.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "CONTINUE",
    });
    const record = slow.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "continued", outcome: "CONTINUE" });
    expect(record.reason).toMatch(/^healthy in cnt-backend-tg at the launch gate deadline of 2400 s/);
    expect(slow.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  /** The app is healthy; the claim is saved, then CompleteLifecycleAction fails once (then works). */
  async function completionInterruptedAfterItsClaim(): Promise<void> {
    targetHealth(h, "healthy");
    h.autoScalingMock
      .on(CompleteLifecycleActionCommand)
      .rejectsOnce(new Error("socket hang up"))
      .resolves({});
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("socket hang up");
  }

  it("finishes an interrupted completion on the retry of the failed re-check, and no sooner on another", async () => {
    await completionInterruptedAfterItsClaim();
    expect(h.store.get(INSTANCE_ID).phase).toBe("continued");

    // Another re-check within the claimer's lease leaves the claim alone: it could race the claimer.
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("gate already finished");
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 1);

    // The retry of the failed re-check follows its own attempt: it delivers the claimed outcome.
    h.advanceSeconds(5);
    await expect(onHealthRecheck(h.deps, { ...recheck("health"), attempt: 1 })).rejects.toThrow(
      "gate already finished",
    );
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(CompleteLifecycleActionCommand, 2);
    expect(h.autoScalingMock).toHaveReceivedNthCommandWith(CompleteLifecycleActionCommand, 2, {
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("leaves an interrupted completion to the reconciler when a re-check that is no retry finds it, even past the claimer's lease", async () => {
    await completionInterruptedAfterItsClaim();
    h.advanceSeconds(COMPLETION_LEASE_SECONDS);
    h.autoScalingMock.resetHistory();
    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("gate already finished");
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);

    // The reconciler's round delivers it (reconcile.test.ts: "delivers an outcome that was claimed but never sent").
  });

  it("takes a throttled health poll as 'not yet': no failure, no decision, the next look at a stretched pace", async () => {
    h.elbv2Mock
      .on(DescribeTargetHealthCommand)
      .rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    h.advanceSeconds(15);
    h.elbv2Mock.resetHistory();

    await onHealthRecheck(h.deps, recheck("health"));

    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(h.elbv2Mock).not.toHaveReceivedCommand(RegisterTargetsCommand);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    // The dense 10 s pace doubled: on the 20 s grid (heartbeat ceiling 200 s).
    const next = h.rechecks.last();
    expect(next?.message).toMatchObject({ step: "health", instanceId: INSTANCE_ID });
    expect(next?.delaySeconds).toBe(gridDelaySeconds(h.now(), 20, 200));
    expect(next?.delaySeconds).not.toBe(gridDelaySeconds(h.now(), 10, 200)); // not the unstretched pace
  });

  it("reads target health through the poll client (few attempts): a throttle is its 'not yet', not six SDK attempts", async () => {
    const { deps, sent } = withPollClients(h.deps);
    h.elbv2Mock
      .on(DescribeTargetHealthCommand)
      .rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    h.advanceSeconds(15);

    await onHealthRecheck(deps, recheck("health"));

    expect(sent.pollElbv2).toEqual(["DescribeTargetHealthCommand"]);
    expect(sent.elbv2).not.toContain("DescribeTargetHealthCommand");
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(h.rechecks.last()?.message).toMatchObject({ step: "health", instanceId: INSTANCE_ID });
  });

  it("looks with retries, not as a poll, when the deadline has come: that look decides", async () => {
    const { deps, sent } = withPollClients(h.deps);
    targetHealth(h, "healthy");
    const record = h.store.get(INSTANCE_ID);

    await finishPastDeadline(deps, record, RUNTIME_CONFIG.groups[0] as RuntimeGroup);

    expect(sent.elbv2).toContain("DescribeTargetHealthCommand");
    expect(sent.pollElbv2).toEqual([]);
  });

  it("does nothing more for a re-check after the gate finished, and asks nobody", async () => {
    targetHealth(h, "healthy");
    await onHealthRecheck(h.deps, recheck("health"));
    lifecycleState(h, "InService");
    h.autoScalingMock.resetHistory();

    await expect(onHealthRecheck(h.deps, recheck("health"))).rejects.toThrow("gate already finished");
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });
});

describe("moving on to the health gate with a heartbeat due", () => {
  it("records the heartbeat with the registration's own save, not a write of its own", async () => {
    const g = gateHarness();
    lifecycleState(g, "Pending:Wait");
    hookAcceptsCompletion(g);
    agentPing(g, "Online");
    sendCommandReturns(g, "cmd-1");
    groupTargetGroups(g);
    targetHealth(g, "unused", "Target.NotRegistered");
    await openGate(g, launchEvent());
    const sent = g.store.get(INSTANCE_ID);
    g.advanceSeconds(RUNTIME_CONFIG.groups[0]?.heartbeatTimeoutSeconds ?? 0); // well past the ceiling
    g.autoScalingMock.resetHistory();
    const saves = g.store.saves;

    invocation(g, { status: "Success" });
    await onCommandFinished(g.deps, commandFinished("cmd-1"));

    expect(g.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(g.store.saves - saves).toBe(1);
    const record = g.store.get(INSTANCE_ID);
    expect(record).toMatchObject({
      phase: "awaiting-health",
      lastHeartbeatAt: g.now(),
      chainSeenAt: g.now(),
    });
    expect(record.version).toBe(sent.version + 1);
  });
});

describe("the health gate with two target groups", () => {
  let two: GateHarness;
  beforeEach(async () => {
    two = gateHarness(configWithTargetGroups(["cnt-backend-tg", "cnt-admin-tg"]));
    await registered(two, "eu-west-2a", [CNT_TARGET_GROUP, ADMIN_TARGET_GROUP]);
    expect(two.store.get(INSTANCE_ID).registered.map((target) => target.name)).toEqual([
      "cnt-backend-tg",
      "cnt-admin-tg",
    ]);
  });

  it("does not continue while one group is healthy and the other still checking; re-checks instead", async () => {
    targetHealthIn(two, TG_ARN, "healthy");
    targetHealthIn(two, ADMIN_TG_ARN, "initial", "Elb.InitialHealthChecking");
    two.advanceSeconds(20);
    const before = two.rechecks.scheduled.length;

    await onHealthRecheck(two.deps, recheck("health"));

    expect(two.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(two.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(two.rechecks.scheduled).toHaveLength(before + 1);
    // Paced by the faster of the two health checks (10 s interval): twice per interval, on the 5 s grid.
    expect(two.rechecks.last()).toMatchObject({
      message: { step: "health", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 5,
    });
  });

  it("continues once healthy in both groups", async () => {
    targetHealthIn(two, TG_ARN, "healthy");
    targetHealthIn(two, ADMIN_TG_ARN, "healthy");
    two.advanceSeconds(40);

    await onHealthRecheck(two.deps, recheck("health"));

    expect(two.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "CONTINUE",
    });
    expect(two.store.get(INSTANCE_ID)).toMatchObject({
      phase: "continued",
      reason: "healthy in cnt-backend-tg, cnt-admin-tg 40 s after registration",
    });
  });

  it("abandons past the health deadline when one group is healthy and the other unhealthy, naming the unhealthy one", async () => {
    targetHealthIn(two, TG_ARN, "healthy");
    targetHealthIn(
      two,
      ADMIN_TG_ARN,
      "unhealthy",
      "Target.ResponseCodeMismatch",
      "Health checks failed with these codes: [404]",
    );
    two.advanceSeconds(210);

    await onHealthRecheck(two.deps, recheck("health"));

    expect(two.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
    const reason = two.store.get(INSTANCE_ID).reason ?? "";
    expect(reason).toMatch(/^not healthy after 210 s: /);
    expect(reason).toContain(
      "target group cnt-admin-tg still reports unhealthy (Target.ResponseCodeMismatch: Health checks failed with these codes: [404])",
    );
    expect(reason).not.toContain("cnt-backend-tg still reports");
    expect(two.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, { TargetGroupArn: TG_ARN });
    expect(two.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn: ADMIN_TG_ARN,
    });
  });

  it("abandons at the overall deadline when only one of the two groups is healthy", async () => {
    targetHealthIn(two, TG_ARN, "healthy");
    targetHealthIn(two, ADMIN_TG_ARN, "initial", "Elb.InitialHealthChecking");
    two.advanceSeconds(2401);

    await expect(onHealthRecheck(two.deps, recheck("health"))).rejects.toThrow(
      "gate deadline passed; abandoned",
    );

    expect(two.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
    const reason = two.store.get(INSTANCE_ID).reason ?? "";
    expect(reason).toMatch(/^launch gate deadline of 2400 s passed while awaiting-health/);
    expect(reason).toContain("target group cnt-admin-tg still reports initial");
    expect(reason).not.toContain("cnt-backend-tg still reports");
  });
});
