import { DeregisterTargetsCommand, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError } from "../../../shared/errors.js";
import { advanceOperation, type OpsDeps } from "../../../shared/ops/advance-operation.js";
import { fromStored, type OperationRecord } from "../../../shared/ops/operation.js";
import { batchSize, parseRebootstrapRequest } from "../../../shared/ops/rebootstrap-request.js";
import { startRebootstrap } from "../../../shared/ops/start-rebootstrap.js";
import {
  ADMIN_TG_ARN,
  configWithTargetGroups,
  type GateHarness,
  GROUP,
  type gateHarness,
  TG_ARN,
} from "../../support/gate-harness.js";
import type { InMemoryOperationStore } from "../../support/in-memory-operation-store.js";
import {
  commandsStub,
  instancesStub,
  loadBalancerStub,
  opsHarness,
  rolloutRequest as rollout,
  twoTargetGroupsStub,
} from "../../support/ops-world.js";

const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0bbbbbbbbbbbbbbb2";
const C = "i-0ccccccccccccccc3";

let h: GateHarness;
let operations: InMemoryOperationStore;
let deps: OpsDeps;
let lb: Map<string, string>;
/** Each instance's bootstrap command status, as GetCommandInvocation reports it. */
let commands: Map<string, string>;

/** Delivers the operation's next re-check, when it was scheduled for. */
async function step(): Promise<void> {
  h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
  await advanceOperation(deps, operations.only().operationId);
}

const op = (): OperationRecord => operations.only();
const working = () => op().wave.map((lane) => `${lane.instanceId} ${lane.step}`);
const deregistered = () =>
  h.elbv2Mock.commandCalls(DeregisterTargetsCommand).map((call) => call.args[0].input.Targets?.[0]?.Id);
const sentTo = () =>
  h.ssmMock.commandCalls(SendCommandCommand).map((call) => call.args[0].input.InstanceIds?.[0]);

/** The load balancer ends every drain: no request was left. */
function drainsEnd(): void {
  for (const [id, state] of lb) if (state === "draining") lb.set(id, "unused");
}

/** Three serving instances, each command's status per instance, and the load balancer's view. */
function setUp(config?: Parameters<typeof gateHarness>[0]): void {
  ({ h, operations, deps } = opsHarness(config));
  instancesStub(h, { [A]: { state: "InService" }, [B]: { state: "InService" }, [C]: { state: "InService" } });
  lb = loadBalancerStub(h, { [A]: "healthy", [B]: "healthy", [C]: "healthy" });
  commands = commandsStub(h, "launchgate: FAILED step pull (exit 1)");
}

beforeEach(() => setUp());

describe("a rollout's batch", () => {
  it.each([
    [2, { count: 2 }],
    ["25%", { percent: 25 }],
    ["100%", { percent: 100 }],
  ])("reads %j as %j", (batch, parsed) => {
    expect(parseRebootstrapRequest({ autoScalingGroupName: GROUP, all: true, batch })).toMatchObject({
      kind: "group",
      batch: parsed,
    });
  });

  it.each([0, -1, 1.5, 21, "0%", "101%", "25 %", "2", "half", true])(
    "refuses %j, saying what a batch is",
    (batch) => {
      expect(() => parseRebootstrapRequest({ autoScalingGroupName: GROUP, all: true, batch })).toThrow(
        /batch.*a number of instances \(1 to 20\) or a percentage of the instances the rollout covers/,
      );
    },
  );

  it("is for a rollout over a group, not one instance", () => {
    expect(() => parseRebootstrapRequest({ instanceId: A, batch: 2 })).toThrow(
      new InvalidInputError(
        '"batch" is for a rollout over a group ("autoScalingGroupName" with "all": true), not one instance',
      ),
    );
  });

  it.each([
    [undefined, 10, 1],
    [{ count: 3 }, 10, 3],
    [{ percent: 25 }, 10, 2],
    [{ percent: 25 }, 3, 1],
    [{ percent: 100 }, 3, 3],
    [{ percent: 50 }, 100, 20],
    [{ count: 5 }, 3, 3],
  ] as const)(
    "%j of %i instances is %i at a time (a percentage rounds down, never to 0; at most the instances, and 20)",
    (batch, total, size) => {
      expect(batchSize(batch, total)).toBe(size);
    },
  );

  it("never exceeds the instances the rollout covers", async () => {
    const plan = await startRebootstrap(deps, { ...rollout({ count: 10 }), dryRun: true });
    expect(plan).toMatchObject({ rebootstrap: [A, B, C], batchSize: 3 });
  });
});

describe("a rollout in waves", () => {
  it("drains a whole wave before any command, and starts the next wave only once every instance of it is healthy", async () => {
    await startRebootstrap(deps, rollout({ count: 2 }));
    await step();
    expect(working()).toEqual([`${A} draining`, `${B} draining`]);
    expect(deregistered()).toEqual([A, B]);
    expect(lb.get(C)).toBe("healthy");
    drainsEnd();
    await step();
    expect(sentTo()).toEqual([A, B]);
    commands.set(A, "Success");
    await step();
    expect(working()).toEqual([`${A} verifying`, `${B} running`]);
    lb.set(A, "healthy");
    commands.set(B, "Success");
    for (let i = 0; i < 5 && op().results.length === 0; i++) await step();
    expect(op().results.map((r) => r.instanceId)).toEqual([A]);
    // B is still verifying: C waits for the wave to end.
    expect(deregistered()).toEqual([A, B]);
    lb.set(B, "healthy");
    for (let i = 0; i < 5 && op().wave.length > 0; i++) await step();
    expect(op().results.map((r) => `${r.instanceId} ${r.outcome}`)).toEqual([
      `${A} succeeded`,
      `${B} succeeded`,
    ]);
    await step();
    expect(working()).toEqual([`${C} draining`]);
  });

  it("puts off an instance that would be the last healthy target while its wave is out, and takes it next", async () => {
    await startRebootstrap(deps, rollout({ percent: 100 }));
    await step();
    // A and B drained: C is now the only healthy target, so it waits for the next wave.
    expect(working()).toEqual([`${A} draining`, `${B} draining`]);
    expect(op().index).toBe(2);
    expect(lb.get(C)).toBe("healthy");
    expect(op().status).toBe("running");
  });

  it("stops starting instances after a failure, sees the rest of the wave through, and re-registers the failed one", async () => {
    await startRebootstrap(deps, rollout({ count: 2 }));
    await step();
    drainsEnd();
    await step();
    commands.set(A, "Failed");
    await step();
    expect(op().results).toMatchObject([{ instanceId: A, outcome: "failed" }]);
    expect(op().status).toBe("running");
    expect(h.elbv2Mock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      Targets: [{ Id: A, Port: 8000 }],
    });
    commands.set(B, "Success");
    await step();
    lb.set(B, "healthy");
    for (let i = 0; i < 5 && op().status === "running"; i++) await step();
    expect(op()).toMatchObject({ status: "failed", wave: [] });
    expect(op().results.map((r) => `${r.instanceId} ${r.outcome}`)).toEqual([
      `${A} failed`,
      `${B} succeeded`,
    ]);
    expect(deregistered()).not.toContain(C);
    expect(sentTo()).toEqual([A, B]);
  });
});

describe("a wave never takes the last healthy target", () => {
  it("not even with force: force drains a last healthy target that has no alternative, never one the batch makes", async () => {
    await startRebootstrap(deps, { ...rollout({ percent: 100 }), force: true });
    await step();
    expect(working()).toEqual([`${A} draining`, `${B} draining`]);
    expect(lb.get(C)).toBe("healthy");
  });

  it("whatever the load balancer still reports just after a deregistration: the wave's own drains are subtracted", async () => {
    // DeregisterTargets is accepted, but the targets read back healthy for a while.
    h.elbv2Mock.on(DeregisterTargetsCommand).resolves({});
    await startRebootstrap(deps, rollout({ percent: 100 }));
    await step();
    expect(working()).toEqual([`${A} draining`, `${B} draining`]);
    expect(deregistered()).toEqual([A, B]);
  });

  it("in every target group: an instance that is the last healthy target of the second one waits", async () => {
    setUp(configWithTargetGroups(["cnt-backend-tg", "cnt-admin-tg"]));
    const health: Record<string, Record<string, string>> = {
      [TG_ARN]: { [A]: "healthy", [B]: "healthy", [C]: "healthy" },
      [ADMIN_TG_ARN]: { [A]: "healthy", [B]: "unhealthy", [C]: "healthy" },
    };
    twoTargetGroupsStub(h, health);
    await startRebootstrap(deps, rollout({ percent: 100 }));
    await step();
    // With A out of both, C is the last healthy target of cnt-admin-tg (B is unhealthy there, so
    // draining B costs that group nothing): B joins A, and C waits for the next wave.
    expect(working()).toEqual([`${A} draining`, `${B} draining`]);
    expect(health[ADMIN_TG_ARN]?.[C]).toBe("healthy");
    expect(health[TG_ARN]?.[C]).toBe("healthy");
  });
});

describe("a rollout that meets a failure", () => {
  it("starts no instance after a failed one, even in the same pass", async () => {
    await startRebootstrap(deps, rollout({ count: 2 }));
    // Between the request and the first step, B and C stop serving: A is the last healthy target.
    lb.set(B, "unhealthy");
    lb.set(C, "unhealthy");
    await step();
    expect(op()).toMatchObject({ status: "failed", wave: [] });
    expect(op().results).toMatchObject([
      {
        instanceId: A,
        outcome: "failed",
        reason: expect.stringMatching(/^refused: .* is the last healthy target/),
      },
    ]);
    expect(deregistered()).toEqual([]);
    expect(op().index).toBe(1);
  });

  it("keeps one lane's errors its own: the others go on; under a command that may still run it waits for the deadline", async () => {
    await startRebootstrap(deps, rollout({ count: 2 }));
    await step();
    drainsEnd();
    await step();
    h.ssmMock.on(GetCommandInvocationCommand).callsFake(async (input) => {
      if (input.InstanceId === B)
        throw Object.assign(new Error("not authorized"), { name: "AccessDeniedException" });
      return { CommandId: input.CommandId, InstanceId: A, Status: "Success", StatusDetails: "Success" };
    });
    await step();
    expect(working()).toEqual([`${A} verifying`, `${B} running`]);
    lb.set(A, "healthy");
    for (let i = 0; i < 12; i++) await step();
    expect(op().results.map((r) => `${r.instanceId} ${r.outcome}`)).toEqual([`${A} succeeded`]);
    // Past the error limit, but its bootstrap may still be running: B stays out and locked.
    expect(op().wave).toMatchObject([{ instanceId: B, step: "running", errors: 12 }]);
    expect(lb.get(B)).toBe("unused");
    expect(operations.locks.has(B)).toBe(true);
    // Once the command's deadline (bootstrap timeout + report slack) has passed, it gives up.
    h.advanceSeconds(1200 + 120);
    await step();
    expect(op().results[1]).toMatchObject({
      instanceId: B,
      outcome: "failed",
      reason: expect.stringMatching(
        /^gave up on i-0bbbbbbbbbbbbbbb2 after 13 error\(s\) in a row at its running step: AccessDeniedException: not authorized \(registered again/,
      ),
    });
    expect(op().status).toBe("failed");
    expect(lb.get(B)).toBe("initial");
    expect(operations.locks.size).toBe(0);
  });

  it("skips, registered again, an instance drained but not yet commanded when another fails", async () => {
    await startRebootstrap(deps, rollout({ count: 2 }));
    await step();
    // A's drain ends and its command is refused; B is still draining.
    lb.set(A, "unused");
    h.ssmMock
      .on(SendCommandCommand)
      .rejects(Object.assign(new Error("denied"), { name: "AccessDeniedException" }));
    await step();
    expect(op().results[0]).toMatchObject({ instanceId: A, outcome: "failed" });
    expect(op()).toMatchObject({ status: "failed", wave: [] });
    expect(op().results[1]).toMatchObject({
      instanceId: B,
      outcome: "skipped",
      reason:
        "not run: the operation stopped at a failed instance (registered again: its health checks decide whether it serves)",
    });
    expect(lb.get(B)).toBe("initial");
    expect(operations.locks.size).toBe(0);
  });
});

describe("a large wave", () => {
  it("starts at most 5 instances per pass, the rest at once in the next", async () => {
    const ids = Array.from({ length: 8 }, (_, i) => `i-0${String(i + 1).repeat(16)}`);
    instancesStub(h, Object.fromEntries(ids.map((id) => [id, { state: "InService" }])));
    lb = loadBalancerStub(h, Object.fromEntries(ids.map((id) => [id, "healthy"])));
    await startRebootstrap(deps, rollout({ count: 8 }));
    await step();
    expect(deregistered()).toHaveLength(5);
    expect(h.rechecks.last().delaySeconds).toBe(0);
    await step();
    // The eighth would be the last healthy target: it waits for the next wave.
    expect(deregistered()).toHaveLength(7);
    expect(op().wave).toHaveLength(7);
  });
});

describe("surge with a batch", () => {
  it("is refused: one more instance keeps capacity only one at a time", async () => {
    await expect(startRebootstrap(deps, { ...rollout({ count: 2 }), surge: true })).rejects.toThrow(
      new InvalidInputError(
        '"surge" adds one instance, so it keeps serving capacity only one instance at a time, and this batch is 2: use "surge" without "batch", or raise the group\'s desired capacity by 2 first and roll out in waves without "surge"',
      ),
    );
    expect(operations.operations.size).toBe(0);
  });

  it("is allowed when the batch comes to one instance", async () => {
    const plan = await startRebootstrap(deps, { ...rollout({ percent: 10 }), surge: true, dryRun: true });
    expect(plan.batchSize).toBe(1);
  });
});

describe("an operation stored before waves existed", () => {
  const legacy = {
    operationId: "0e25976b-1c2d-4e5f-8a9b-0c1d2e3f4a5b",
    kind: "rebootstrap",
    groupName: GROUP,
    bootstrapPhase: "start",
    instanceIds: [A, B],
    status: "running",
    results: [],
    requestedAt: 0,
    updatedAt: 0,
    version: 4,
  };

  it("carries on with its current instance as a wave of one", () => {
    const current = { instanceId: A, startedAt: 0, targets: [], commandId: "cmd-1", drained: true };
    expect(fromStored({ ...legacy, step: "running", index: 0, current })).toMatchObject({
      step: "working",
      batchSize: 1,
      index: 1,
      wave: [{ instanceId: A, step: "running", current }],
    });
  });

  it("starts its next instance when it was between instances", () => {
    expect(fromStored({ ...legacy, step: "starting", index: 1 })).toMatchObject({
      step: "working",
      index: 1,
      wave: [],
    });
  });

  it("climbs a remediation's ladder where it was", () => {
    expect(
      fromStored({ ...legacy, kind: "remediate", step: "starting", index: 0, retrying: A }),
    ).toMatchObject({
      index: 1,
      wave: [{ instanceId: A, step: "starting", retrying: true }],
    });
  });

  it("keeps surging", () => {
    expect(fromStored({ ...legacy, step: "surging", index: 0, surge: {} })).toMatchObject({
      step: "surging",
      index: 0,
      wave: [],
    });
  });
});
