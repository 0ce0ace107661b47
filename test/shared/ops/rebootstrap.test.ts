import { type AutoScalingGroup, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { DeregisterTargetsCommand, RegisterTargetsCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListCommandsCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError, NotYetError, SkipEventError, StaleRecordError } from "../../../shared/errors.js";
import { advanceOperation, type OpsDeps, UNSAVED_RETRIES } from "../../../shared/ops/advance-operation.js";
import { parseRebootstrapRequest } from "../../../shared/ops/rebootstrap-request.js";
import { startRebootstrap } from "../../../shared/ops/start-rebootstrap.js";
import {
  awsServiceError,
  hookAcceptsCompletion,
  invocation,
  sendCommandReturns,
} from "../../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness, TG_ARN } from "../../support/gate-harness.js";
import { InMemoryOperationStore } from "../../support/in-memory-operation-store.js";
import { instancesStub, loadBalancerStub } from "../../support/ops-world.js";

const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0bbbbbbbbbbbbbbb2";
const C = "i-0ccccccccccccccc3";

let h: GateHarness;
let operations: InMemoryOperationStore;
let deps: OpsDeps;

/** The load balancer's view of each instance in the group's target group (test/support/ops-world). */
let lb: Map<string, string>;

function loadBalancer(): void {
  lb = loadBalancerStub(h, { [A]: "healthy", [B]: "healthy" });
}

const instanceRequest = (instanceId: string) => ({
  kind: "instance" as const,
  instanceId,
  phase: "start" as const,
  dryRun: false,
  wait: false,
  surge: false,
  force: false,
});

const groupRequest = () => ({
  kind: "group" as const,
  groupName: GROUP,
  phase: "start" as const,
  dryRun: false,
  wait: false,
  surge: false,
  force: false,
});

/** Where each instance is, as Auto Scaling would answer for it and for its group. */
function instances(
  states: Record<string, { state: string; group?: string }>,
  group: Partial<AutoScalingGroup> = { DesiredCapacity: 3 },
): void {
  instancesStub(h, states, group);
}

/** Delivers the operation's next re-check, when it was scheduled for. */
async function step(): Promise<void> {
  h.advanceSeconds(h.rechecks.last()?.delaySeconds ?? 0);
  await advanceOperation(deps, operations.only().operationId);
}

beforeEach(() => {
  h = gateHarness();
  operations = new InMemoryOperationStore();
  deps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  hookAcceptsCompletion(h);
  sendCommandReturns(h, "cmd-1");
  instances({ [A]: { state: "InService" }, [B]: { state: "InService" } });
  loadBalancer();
});

describe("parseRebootstrapRequest refuses what it cannot act on, precisely", () => {
  it.each([
    [{}, 'nothing to do: give "instanceId", or "autoScalingGroupName" with "all": true, or "operationId"'],
    [
      { autoScalingGroupName: GROUP },
      'to re-bootstrap every instance of a group, say so: {"autoScalingGroupName": "…", "all": true}',
    ],
    [
      { instanceId: A, autoScalingGroupName: GROUP, all: true },
      'give either "instanceId" or "autoScalingGroupName", not both',
    ],
    [{ instanceId: A, all: true }, '"all" goes with "autoScalingGroupName", not with "instanceId"'],
    [
      { instanceId: "i-nope" },
      'invalid re-bootstrap request: instanceId: got "i-nope"; allowed: a string matching /^i-([0-9a-f]{8}|[0-9a-f]{17})$/',
    ],
    [
      { instanceId: A, phase: "prepare" },
      'invalid re-bootstrap request: phase: got "prepare"; allowed: one of "start", "all"',
    ],
    [
      { instanceId: A, surge: true, force: true },
      '"surge" keeps serving (one more instance first) and "force" accepts downtime: choose one',
    ],
    [
      { instanceId: A, drainSeconds: 7200 },
      "invalid re-bootstrap request: drainSeconds: got 7200; allowed: at most 3600",
    ],
    [
      { instanceId: A, documentVersion: "v2" },
      'invalid re-bootstrap request: documentVersion: got "v2"; allowed: $LATEST, $DEFAULT or a version number of the bootstrap document, such as 3',
    ],
  ])("%j", (input, message) => {
    expect(() => parseRebootstrapRequest(input)).toThrow(new InvalidInputError(message));
  });

  it("defaults to the start phase, no dry run, no waiting", () => {
    expect(parseRebootstrapRequest({ instanceId: A })).toEqual({
      kind: "instance",
      instanceId: A,
      phase: "start",
      dryRun: false,
      wait: false,
      surge: false,
      force: false,
    });
  });
});

describe("startRebootstrap refuses, changing nothing", () => {
  const request = (instanceId: string) => ({
    kind: "instance" as const,
    instanceId,
    phase: "start" as const,
    dryRun: false,
    wait: false,
    surge: false,
    force: false,
  });

  it.each([
    [
      "an instance in no group",
      "i-0ddddddddddddddd4",
      {},
      "instance i-0ddddddddddddddd4 is not in any Auto Scaling group (or no longer exists)",
    ],
    [
      "an instance of a group launchgate does not manage",
      C,
      { [C]: { state: "InService", group: "payments-asg" } },
      `instance ${C} belongs to payments-asg, which launchgate does not manage: refusing to run commands on it`,
    ],
    [
      "a terminating instance",
      C,
      { [C]: { state: "Terminating" } },
      `instance ${C} is Terminating; only InService instances are re-bootstrapped`,
    ],
  ])("%s", async (_what, instanceId, states, message) => {
    instances(states as Record<string, { state: string; group?: string }>);
    await expect(startRebootstrap(deps, request(instanceId))).rejects.toThrow(new InvalidInputError(message));
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(operations.operations.size).toBe(0);
    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("an instance still passing its launch gate", async () => {
    h.store.records.set(A, { ...(await seedRecord(A)), phase: "bootstrapping" });
    await expect(startRebootstrap(deps, request(A))).rejects.toThrow(
      `instance ${A} is still passing the launch gate (phase bootstrapping)`,
    );
    expect(operations.operations.size).toBe(0);
  });

  it("a group launchgate does not manage", async () => {
    await expect(
      startRebootstrap(deps, {
        kind: "group",
        groupName: "payments-asg",
        phase: "start",
        dryRun: false,
        wait: false,
        surge: false,
        force: false,
      }),
    ).rejects.toThrow("group payments-asg is not managed by launchgate (managed: cnt-backend-asg)");
  });
});

describe("startRebootstrap", () => {
  it("resumes the launch gate of an instance waiting at its hook, instead of re-bootstrapping it", async () => {
    instances({ [A]: { state: "Pending:Wait" } });
    const plan = await startRebootstrap(deps, {
      kind: "instance",
      instanceId: A,
      phase: "start",
      dryRun: false,
      wait: false,
      surge: false,
      force: false,
    });
    expect(plan.resumedLaunches).toEqual([
      { instanceId: A, detail: "launch gate started for a wait no lifecycle event announced" },
    ]);
    expect(plan.operation).toBeUndefined();
    expect(h.store.get(A).phase).toBe("awaiting-agent");
    expect(h.rechecks.last().message.step).toBe("agent");
  });

  it("dry run: says what it would do, and does nothing at all", async () => {
    instances({ [A]: { state: "InService" }, [B]: { state: "Pending:Wait" }, [C]: { state: "Standby" } });
    const plan = await startRebootstrap(deps, {
      kind: "group",
      groupName: GROUP,
      phase: "all",
      dryRun: true,
      wait: false,
      surge: false,
      force: false,
    });
    expect(plan).toEqual({
      dryRun: true,
      rebootstrap: [A],
      batchSize: 1,
      resumedLaunches: [{ instanceId: B, detail: "would resume its launch gate" }],
      notEligible: [
        { instanceId: C, reason: `instance ${C} is Standby; only InService instances are re-bootstrapped` },
      ],
    });
    expect(h.store.records.size).toBe(0);
    expect(operations.operations.size).toBe(0);
    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("starts one operation over the group's InService instances, in a stable order", async () => {
    instances({ [B]: { state: "InService" }, [A]: { state: "InService" }, [C]: { state: "Terminating" } });
    const plan = await startRebootstrap(deps, {
      kind: "group",
      groupName: GROUP,
      phase: "all",
      dryRun: false,
      wait: false,
      surge: false,
      force: false,
    });
    expect(plan.rebootstrap).toEqual([A, B]);
    expect(operations.only()).toMatchObject({
      groupName: GROUP,
      bootstrapPhase: "all",
      instanceIds: [A, B],
      batchSize: 1,
      status: "running",
      step: "working",
      wave: [],
    });
    // The first re-check is in the operation's chain, saved with it.
    expect(operations.only().chain).toEqual(expect.any(String));
    expect(h.rechecks.last()).toEqual({
      message: {
        step: "operation",
        instanceId: A,
        token: plan.operation?.operationId,
        chain: operations.only().chain,
        chainSince: 1,
      },
      delaySeconds: 0,
    });
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe("advanceOperation: one instance at a time, drained first, each healthy again before the next", () => {
  beforeEach(async () => {
    await startRebootstrap(deps, groupRequest());
  });

  it("takes the first instance out of every target group before anything runs on it, under its lock", async () => {
    await step();
    expect(h.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn: TG_ARN,
      Targets: [{ Id: A, Port: 8000 }],
    });
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(operations.locks.get(A)?.operationId).toBe(operations.only().operationId);
    expect(operations.only().wave).toMatchObject([
      { instanceId: A, step: "draining", current: { instanceId: A, drained: true } },
    ]);
    expect(lb.get(B)).toBe("healthy");
  });

  it("sends the command only once the load balancer has ended the drain", async () => {
    await step();
    await step();
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    lb.set(A, "unused");
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      InstanceIds: [A],
      Parameters: { phase: ["start"], trigger: ["rebootstrap"] },
      Comment: `launchgate rebootstrap ${operations.only().operationId}`,
    });
    expect(operations.only().wave).toMatchObject([{ step: "running", current: { commandId: "cmd-1" } }]);
  });

  it("registers it again after its command, and moves on only once the load balancer calls it healthy", async () => {
    await drainedAndSent();
    invocation(h, { status: "Success" });
    await step();
    expect(h.elbv2Mock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      TargetGroupArn: TG_ARN,
      Targets: [{ Id: A, Port: 8000 }],
    });
    expect(lb.get(A)).toBe("initial");
    await step();
    expect(operations.only().results).toEqual([]);
    lb.set(A, "healthy");
    h.advanceSeconds(20);
    await step();
    expect(operations.only().results).toEqual([
      expect.objectContaining({
        instanceId: A,
        outcome: "succeeded",
        reason: "re-bootstrapped; healthy in cnt-backend-tg",
      }),
    ]);
    expect(operations.locks.has(A)).toBe(false);
    await step();
    expect(h.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      Targets: [{ Id: B, Port: 8000 }],
    });
  });

  it("stops waiting at drainSeconds, and then trusts no health read until a restart could have shown", async () => {
    operations.operations.set(operations.only().operationId, { ...operations.only(), drainSeconds: 30 });
    await step();
    h.advanceSeconds(31);
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(operations.only().wave[0]?.current?.drainCutShort).toBe(true);
    invocation(h, { status: "Success" });
    await step();
    const current = operations.only().wave[0]?.current;
    expect((current?.verifyNotBefore ?? 0) - h.now()).toBe(90_000);
  });

  it("registers a drained instance again when its command fails, and stops before the next", async () => {
    await drainedAndSent();
    invocation(h, { status: "Failed", stderr: "launchgate: FAILED step compose-up (exit 1)" });
    await step();
    const op = operations.only();
    expect(op.status).toBe("failed");
    expect(op.results[0]).toMatchObject({
      instanceId: A,
      outcome: "failed",
      reason:
        'bootstrap step "compose-up" failed (command cmd-1, status Failed): launchgate: FAILED step compose-up (exit 1) (registered again: its health checks decide whether it serves)',
    });
    expect(h.elbv2Mock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      Targets: [{ Id: A, Port: 8000 }],
    });
    expect(operations.locks.size).toBe(0);
    await expect(step()).rejects.toThrow("operation already finished");
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("stops with a reason naming the error when SendCommand is refused", async () => {
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("AccessDeniedException", "not authorized"));
    await step();
    lb.set(A, "unused");
    await step();
    const op = operations.only();
    expect(op.status).toBe("failed");
    expect(op.results[0]?.reason).toMatch(
      /^bootstrap could not be sent \(AccessDeniedException: not authorized\): check that the IAM role of the operations function/,
    );
    expect(operations.locks.size).toBe(0);
  });

  it("fails the instance, naming the agent, when it is not reachable over SSM", async () => {
    h.ssmMock
      .on(SendCommandCommand)
      .rejects(awsServiceError("InvalidInstanceId", "Instances not in a valid state"));
    await step();
    lb.set(A, "unused");
    await step();
    expect(operations.only()).toMatchObject({ status: "failed" });
    expect(operations.only().results[0]?.reason).toMatch(/SSM agent on i-0aaaaaaaaaaaaaaa1 is not reachable/);
  });

  it("adopts the command a step sent before it failed to save: never a second one", async () => {
    await step();
    lb.set(A, "unused");
    const draining = operations.only();
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    // The save of that step was lost: the same step runs again, and SSM lists the command it sent.
    operations.operations.set(draining.operationId, draining);
    h.ssmMock.on(ListCommandsCommand).resolves({
      Commands: [{ CommandId: "cmd-1", Comment: `launchgate rebootstrap ${draining.operationId}` }],
    });
    h.advanceSeconds(5);
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(operations.only().wave).toMatchObject([{ step: "running", current: { commandId: "cmd-1" } }]);
  });

  it("retries a throttled send after a backoff, with the instance still drained, and fails it only once throttling persists", async () => {
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    await step();
    lb.set(A, "unused");
    await step();
    expect(operations.only()).toMatchObject({ status: "running", wave: [{ step: "draining", errors: 1 }] });
    expect(h.rechecks.last().delaySeconds).toBe(5);
    for (let i = 0; i < 6; i++) await step();
    expect(operations.only()).toMatchObject({ status: "running", wave: [{ step: "draining", errors: 7 }] });
    await step();
    expect(operations.only()).toMatchObject({ status: "failed", wave: [] });
    expect(operations.only().results[0]?.reason).toMatch(
      /^gave up on i-0aaaaaaaaaaaaaaa1 after 8 error\(s\) in a row at its draining step: ThrottlingException: Rate exceeded \(registered again/,
    );
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 8);
    expect(lb.get(A)).toBe("initial");
  });

  it("fails an instance that does not turn healthy within its target group's budget", async () => {
    await drainedAndSent();
    invocation(h, { status: "Success" });
    await step();
    lb.set(A, "unhealthy");
    h.advanceSeconds(301);
    await step();
    expect(operations.only().results[0]?.reason).toMatch(
      /^not healthy after \d+ s: target group cnt-backend-tg still reports unhealthy/,
    );
  });

  it("skips an instance another operation holds", async () => {
    await operations.lock(A, "someone-else", h.now(), h.now() + 60_000);
    await step();
    expect(operations.only().results[0]).toMatchObject({
      instanceId: A,
      outcome: "skipped",
      reason: `another operation is working on ${A}`,
    });
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });

  it("refuses, when its turn comes, an instance that has become the last healthy target", async () => {
    lb.set(B, "unhealthy");
    await step();
    expect(operations.only()).toMatchObject({ status: "failed" });
    expect(operations.only().results[0]?.reason).toBe(
      `refused: ${A} is the last healthy target of cnt-backend-tg; draining it would stop serving: re-run with surge (one more instance first) or force (downtime accepted)`,
    );
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });
});

describe("the last healthy target", () => {
  beforeEach(() => {
    instances({ [A]: { state: "InService" } }, { DesiredCapacity: 1, MaxSize: 2 });
    lb.delete(B);
  });

  it("is refused at the request, changing nothing, without surge or force", async () => {
    await expect(startRebootstrap(deps, instanceRequest(A))).rejects.toThrow(
      new InvalidInputError(
        `${A} is the last healthy target of cnt-backend-tg: draining it for its re-bootstrap would leave cnt-backend-tg serving nothing. Add "surge": true (one more instance first, then back to the current size) or "force": true (accept the downtime)`,
      ),
    );
    expect(operations.operations.size).toBe(0);
    expect(h.rechecks.scheduled).toEqual([]);
  });

  it("is drained with force, the downtime logged", async () => {
    await startRebootstrap(deps, { ...instanceRequest(A), force: true });
    await step();
    expect(h.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      Targets: [{ Id: A, Port: 8000 }],
    });
    expect(h.logs.map((line) => line.message)).toContain(
      "force: draining the last healthy target; downtime accepted",
    );
  });

  it("with surge: one more instance first, the work once it serves, and the size restored at the end", async () => {
    await startRebootstrap(deps, { ...instanceRequest(A), surge: true });
    expect(operations.only().step).toBe("surging");
    await step();
    expect(h.autoScalingMock).toHaveReceivedCommandWith(SetDesiredCapacityCommand, {
      AutoScalingGroupName: GROUP,
      DesiredCapacity: 2,
      HonorCooldown: false,
    });
    await step();
    expect(operations.only().step).toBe("surging");
    // The new instance: healthy in the target group while its hook still holds it is not enough.
    lb.set(C, "healthy");
    instances(
      { [A]: { state: "InService" }, [C]: { state: "Pending:Wait" } },
      { DesiredCapacity: 2, MaxSize: 2 },
    );
    await step();
    expect(operations.only().step).toBe("surging");
    instances(
      { [A]: { state: "InService" }, [C]: { state: "InService" } },
      { DesiredCapacity: 2, MaxSize: 2 },
    );
    await step();
    expect(operations.only()).toMatchObject({ step: "working", wave: [] });
    await step();
    expect(h.elbv2Mock).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      Targets: [{ Id: A, Port: 8000 }],
    });
    lb.set(A, "unused");
    await step();
    invocation(h, { status: "Success" });
    await step();
    lb.set(A, "healthy");
    await step();
    expect(operations.only()).toMatchObject({
      status: "succeeded",
      surge: { originalDesired: 1, restored: true },
    });
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(SetDesiredCapacityCommand, 2);
    expect(h.autoScalingMock).toHaveReceivedNthCommandWith(SetDesiredCapacityCommand, 2, {
      DesiredCapacity: 1,
    });
  });

  it("with surge at the group's maximum size: stops before touching anything", async () => {
    instances({ [A]: { state: "InService" } }, { DesiredCapacity: 1, MaxSize: 1 });
    await startRebootstrap(deps, { ...instanceRequest(A), surge: true });
    await step();
    expect(operations.only()).toMatchObject({
      status: "failed",
      failure: `surge refused: ${GROUP} is at its maximum size (1); raise MaxSize by one, or use force to accept downtime`,
    });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(SetDesiredCapacityCommand);
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DeregisterTargetsCommand);
  });
});

/** Drains the first instance and sends its command. */
async function drainedAndSent(): Promise<void> {
  await step();
  lb.set(A, "unused");
  await step();
  expect(operations.only().wave[0]?.step).toBe("running");
}

async function seedRecord(instanceId: string) {
  const { openRecord } = await import("../../../shared/gate/open-wait.js");
  const group = h.deps.config.groups[0];
  if (!group) throw new Error("no group");
  return openRecord(
    h.deps,
    {
      kind: "launch",
      instanceId,
      groupName: GROUP,
      hookName: group.hookName,
      token: "t",
      origin: "EC2",
      destination: "AutoScalingGroup",
    },
    group,
  );
}

describe("advanceOperation before its operation is saved", () => {
  it("retries a first step that SQS delivered before the operation's save landed", async () => {
    await expect(advanceOperation(deps, "not-saved-yet", 0)).rejects.toBeInstanceOf(NotYetError);
    await expect(advanceOperation(deps, "not-saved-yet", 2)).rejects.toBeInstanceOf(NotYetError);
  });

  it("drops it once the starter has clearly died before saving", async () => {
    await expect(advanceOperation(deps, "never-saved", 3)).rejects.toBeInstanceOf(SkipEventError);
  });
});

describe("advanceOperation: one re-check chain drives an operation", () => {
  /** Delivers the last scheduled re-check as SQS would: with its chain. */
  const deliver = (message = h.rechecks.last()?.message) =>
    advanceOperation(deps, message?.token ?? "", message?.attempt ?? 0, message);

  beforeEach(async () => {
    await startRebootstrap(deps, groupRequest());
  });

  it("gives the next re-check of a pass that saves a new chain, saved with it; the old chain's copy is dropped, asking nothing", async () => {
    const first = h.rechecks.last()?.message;
    expect(first?.chain).toBe(operations.only().chain);

    await deliver(first);

    const next = h.rechecks.last()?.message;
    expect(operations.only().wave).toMatchObject([{ instanceId: A, step: "draining" }]);
    expect(next?.chain).toBe(operations.only().chain);
    expect(next?.chain).not.toBe(first?.chain);
    // The first re-check again (SQS redelivered it after its pass saved): dropped before any AWS call.
    h.elbv2Mock.resetHistory();
    h.autoScalingMock.resetHistory();
    const before = operations.only();
    await expect(deliver(first)).rejects.toBeInstanceOf(SkipEventError);
    expect(h.elbv2Mock.calls()).toHaveLength(0);
    expect(h.autoScalingMock.calls()).toHaveLength(0);
    expect(operations.only()).toEqual(before);
  });

  it("drops the next re-check of a pass whose save lost; the retry of the pass's own re-check drives on", async () => {
    const first = h.rechecks.last()?.message;
    const save = operations.save.bind(operations);
    operations.save = async (op) => {
      operations.save = save;
      throw new StaleRecordError(op.operationId, op.version - 1);
    };

    await expect(deliver(first)).rejects.toBeInstanceOf(StaleRecordError);
    const orphan = h.rechecks.last()?.message; // scheduled before the save that failed
    expect(orphan?.chain).not.toBe(first?.chain);
    expect(operations.only().chain).toBe(first?.chain);

    // It names a version the record never reached: waited for a little (its save might be in flight),
    // then dropped.
    const orphanAt = (attempt: number) => deliver({ ...(orphan as NonNullable<typeof orphan>), attempt });
    for (const attempt of [0, 1, 2]) await expect(orphanAt(attempt)).rejects.toBeInstanceOf(NotYetError);
    await expect(orphanAt(UNSAVED_RETRIES)).rejects.toBeInstanceOf(SkipEventError);
    await deliver({ ...(first as NonNullable<typeof first>), attempt: 1 });
    expect(operations.only().wave).toMatchObject([{ instanceId: A, step: "draining" }]);
    expect(h.rechecks.last()?.message.chain).toBe(operations.only().chain);
  });

  it("waits for the save its pass is still making, then drives: a re-check due at once can outrun it", async () => {
    const save = operations.save.bind(operations);
    let raced: unknown;
    operations.save = async (op) => {
      operations.save = save;
      // Another invocation picks up the re-check this pass scheduled, while its save is in flight.
      raced = await deliver().catch((error: unknown) => error);
      return save(op);
    };

    await deliver();

    expect(raced).toBeInstanceOf(NotYetError);
    const next = h.rechecks.scheduled.find(
      (s) => s.message.attempt === undefined && s.message.chain === operations.only().chain,
    );
    expect(next).toBeDefined();
    // Its retry, once the save landed, is not dropped: it runs a pass and schedules the next re-check,
    // in the record's chain.
    const scheduled = h.rechecks.scheduled.length;
    await deliver({ ...(next?.message as NonNullable<typeof next>["message"]), attempt: 1 });
    expect(h.rechecks.scheduled.length).toBe(scheduled + 1);
    expect(h.rechecks.last()?.message.chain).toBe(operations.only().chain);
  });

  it("lets any re-check drive an operation saved before chains, until its next save gives it one", async () => {
    const op = operations.only();
    const { chain: _chain, ...unchained } = op;
    operations.operations.set(op.operationId, unchained);

    await advanceOperation(deps, op.operationId, 0, {
      chain: "a-chain-it-never-had",
      chainSince: op.version,
    });

    expect(operations.only().wave).toMatchObject([{ instanceId: A, step: "draining" }]);
    expect(operations.only().chain).toEqual(expect.any(String));
  });
});
