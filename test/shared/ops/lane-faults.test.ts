import { DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DeregisterTargetsCommand, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { expect, it } from "vitest";
import { advanceOperation } from "../../../shared/ops/advance-operation.js";
import { startRebootstrap } from "../../../shared/ops/start-rebootstrap.js";
import { ADMIN_TG_ARN, configWithTargetGroups, GROUP, TG_ARN } from "../../support/gate-harness.js";
import {
  commandsStub,
  instancesStub,
  loadBalancerStub,
  opsHarness,
  rolloutRequest,
  twoTargetGroupsStub,
} from "../../support/ops-world.js";

/**
 * Rollouts in waves when AWS misbehaves part-way: a start that errors once, a deregistration refused
 * in one target group, a registration refused. Each instance ends once, none is left out of its target
 * groups or locked, and no pass throws.
 */

const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0bbbbbbbbbbbbbbb2";
const C = "i-0ccccccccccccccc3";

it("a start that errored once and is then put off keeps its place: every instance ends once, none twice", async () => {
  const { h, operations, deps } = opsHarness();
  instancesStub(h, { [A]: { state: "InService" }, [B]: { state: "InService" }, [C]: { state: "InService" } });
  // C is unhealthy and a remediation holds its lock (the usual reason for both at once).
  const lb = loadBalancerStub(h, { [A]: "healthy", [B]: "healthy", [C]: "unhealthy" });
  operations.locks.set(C, { operationId: "some-remediation", until: h.now() + 3_600_000 });
  const commands = commandsStub(h);
  // One throttled DescribeAutoScalingInstances for B (preflight), then normal.
  let throttledOnce = false;
  const asi = h.autoScalingMock.on(DescribeAutoScalingInstancesCommand);
  asi.callsFake(async (input) => {
    if (input.InstanceIds?.[0] === B && !throttledOnce && operations.operations.size > 0) {
      throttledOnce = true;
      throw Object.assign(new Error("Rate exceeded"), { name: "Throttling" });
    }
    return {
      AutoScalingInstances: (input.InstanceIds ?? []).map((id: string) => ({
        InstanceId: id,
        AutoScalingGroupName: GROUP,
        AvailabilityZone: "eu-west-2a",
        LifecycleState: "InService",
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      })),
    };
  });
  await startRebootstrap(deps, rolloutRequest({ percent: 100 }));
  const op = () => operations.only();
  const step = async () => {
    h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
    await advanceOperation(deps, op().operationId);
  };
  for (let i = 0; i < 60 && op().status === "running"; i++) {
    await step();
    // the world: drains end, commands succeed, registered targets become healthy; C's remediation ends
    for (const [id, s] of lb) if (s === "draining") lb.set(id, "unused");
    for (const [id, s] of lb) if (s === "initial") lb.set(id, "healthy");
    for (const id of commands.keys()) commands.set(id, "Success");
    if (i === 3) {
      operations.locks.delete(C);
      lb.set(C, "healthy");
    }
  }
  const sent = h.ssmMock.commandCalls(SendCommandCommand).map((c) => c.args[0].input.InstanceIds?.[0]);
  const drained = h.elbv2Mock
    .commandCalls(DeregisterTargetsCommand)
    .map((c) => c.args[0].input.Targets?.[0]?.Id);
  expect([...drained].sort()).toEqual([A, B]);
  // What a rollout must guarantee: every instance either re-bootstrapped or given a result, none twice.
  expect(op().status).toBe("succeeded");
  // C was skipped (another operation held it); A and B each re-bootstrapped once.
  expect([...sent].sort()).toEqual([A, B]);
  expect(
    op()
      .results.map((r) => r.instanceId)
      .sort(),
  ).toEqual([A, B, C]);
});

it.each([1, 2])(
  "batch %i: a start refused by one target group after leaving another is registered again when it gives up",
  async (batch) => {
    const { h, operations, deps } = opsHarness(configWithTargetGroups(["cnt-backend-tg", "cnt-admin-tg"]));
    instancesStub(h, {
      [A]: { state: "InService" },
      [B]: { state: "InService" },
      [C]: { state: "InService" },
    });
    const health: Record<string, Record<string, string>> = {
      [TG_ARN]: { [A]: "healthy", [B]: "healthy", [C]: "healthy" },
      [ADMIN_TG_ARN]: { [A]: "healthy", [B]: "healthy", [C]: "healthy" },
    };
    // The admin target group refuses deregistrations (an IAM policy scoped to the first one only).
    twoTargetGroupsStub(h, health, ADMIN_TG_ARN);
    h.ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd", Status: "Pending" } });
    h.ssmMock.on(GetCommandInvocationCommand).resolves({ Status: "InProgress" });
    await startRebootstrap(deps, rolloutRequest(batch > 1 ? { count: batch } : undefined));
    const op = () => operations.only();
    for (let i = 0; i < 40 && op().status === "running"; i++) {
      h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
      await advanceOperation(deps, op().operationId);
      for (const states of Object.values(health))
        for (const [id, s] of Object.entries(states)) if (s === "draining") states[id] = "unused";
    }
    expect(op().status).toBe("failed");
    // The claim: a failed instance is never left out of its target groups.
    expect(health[TG_ARN]?.[A]).not.toBe("unused");
    expect(Object.values(health[TG_ARN] ?? {})).not.toContain("unused");
    expect(operations.locks.size).toBe(0);
  },
);

it("a lane whose clean-up is refused still ends, and the rest of its wave with it: no pass throws", async () => {
  const { h, operations, deps } = opsHarness();
  instancesStub(h, { [A]: { state: "InService" }, [B]: { state: "InService" }, [C]: { state: "InService" } });
  const lb = loadBalancerStub(h, { [A]: "healthy", [B]: "healthy", [C]: "healthy" });
  const commands = commandsStub(h, "launchgate: FAILED step pull (exit 1)");
  // Registering A back is denied (e.g. a throttle storm or a policy change on the target group).
  h.elbv2Mock.on(RegisterTargetsCommand).callsFake(async (input) => {
    if (input.Targets?.[0]?.Id === A) throw Object.assign(new Error("denied"), { name: "AccessDenied" });
    for (const t of input.Targets ?? []) lb.set(t.Id, "initial");
    return {};
  });
  await startRebootstrap(deps, rolloutRequest({ count: 2 }));
  const op = () => operations.only();
  let thrown = 0;
  let _lastError = "";
  for (let i = 0; i < 40 && op().status === "running"; i++) {
    h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
    try {
      await advanceOperation(deps, op().operationId);
    } catch (e) {
      thrown++;
      _lastError = String(e);
      h.advanceSeconds(30);
    }
    for (const [id, s] of lb) if (s === "draining") lb.set(id, "unused");
    if (commands.get(A) === "InProgress") commands.set(A, "Failed");
    // B's bootstrap is slow: it ends only after A has met its errors.
    if (commands.get(B) === "InProgress" && (op().wave.find((l) => l.instanceId === A)?.errors ?? 0) >= 7)
      commands.set(B, "Success");
    for (const [id, s] of lb) if (s === "initial") lb.set(id, "healthy");
  }
  expect(thrown).toBe(0);
  expect(op().status).toBe("failed");
  expect(op().results.find((r) => r.instanceId === A)?.reason).toMatch(
    /its clean-up failed too \(AccessDenied: denied\)/,
  );
  expect(op().results.find((r) => r.instanceId === B)?.outcome).toBe("succeeded");
});
