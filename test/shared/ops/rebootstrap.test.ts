import {
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
} from "@aws-sdk/client-auto-scaling";
import { SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { InvalidInputError, NotYetError, SkipEventError } from "../../../shared/errors.js";
import { advanceOperation, type OpsDeps } from "../../../shared/ops/advance-operation.js";
import { parseRebootstrapRequest } from "../../../shared/ops/rebootstrap-request.js";
import { startRebootstrap } from "../../../shared/ops/start-rebootstrap.js";
import {
  awsServiceError,
  groupDescription,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  sendCommandReturns,
  targetHealth,
} from "../../support/aws-stubs.js";
import { type GateHarness, GROUP, gateHarness } from "../../support/gate-harness.js";
import { InMemoryOperationStore } from "../../support/in-memory-operation-store.js";

const A = "i-0aaaaaaaaaaaaaaa1";
const B = "i-0bbbbbbbbbbbbbbb2";
const C = "i-0ccccccccccccccc3";

let h: GateHarness;
let operations: InMemoryOperationStore;
let deps: OpsDeps;

/** Where each instance is, as Auto Scaling would answer for it and for its group. */
function instances(states: Record<string, { state: string; group?: string }>): void {
  h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake(async (input) => ({
    AutoScalingInstances: (input.InstanceIds ?? [])
      .filter((id: string) => states[id])
      .map((id: string) => ({
        InstanceId: id,
        AutoScalingGroupName: states[id]?.group ?? GROUP,
        AvailabilityZone: "eu-west-2a",
        LifecycleState: states[id]?.state,
        HealthStatus: "HEALTHY",
        ProtectedFromScaleIn: false,
      })),
  }));
  groupTargetGroups(h);
  const members = Object.entries(states)
    .filter(([, s]) => (s.group ?? GROUP) === GROUP)
    .map(([id, s]) => ({ id, state: s.state }));
  h.autoScalingMock
    .on(DescribeAutoScalingGroupsCommand)
    .resolves({ AutoScalingGroups: [groupDescription(members, { DesiredCapacity: 3 })] });
}

async function step(): Promise<void> {
  await advanceOperation(deps, operations.only().operationId);
}

beforeEach(() => {
  h = gateHarness();
  operations = new InMemoryOperationStore();
  deps = { ...h.deps, operations, cloudwatch: h.cloudwatch };
  hookAcceptsCompletion(h);
  sendCommandReturns(h, "cmd-1");
  targetHealth(h, "healthy");
  instances({ [A]: { state: "InService" }, [B]: { state: "InService" } });
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
    [{ instanceId: A, force: true }, 'invalid re-bootstrap request: unknown key "force"'],
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
    });
    expect(plan).toEqual({
      dryRun: true,
      rebootstrap: [A],
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
    });
    expect(plan.rebootstrap).toEqual([A, B]);
    expect(operations.only()).toMatchObject({
      groupName: GROUP,
      bootstrapPhase: "all",
      instanceIds: [A, B],
      status: "running",
      step: "starting",
    });
    expect(h.rechecks.last()).toEqual({
      message: { step: "operation", instanceId: A, token: plan.operation?.operationId },
      delaySeconds: 0,
    });
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe("advanceOperation: one instance at a time, each verified healthy before the next", () => {
  beforeEach(async () => {
    await startRebootstrap(deps, {
      kind: "group",
      groupName: GROUP,
      phase: "start",
      dryRun: false,
      wait: false,
    });
  });

  it("runs the bootstrap in place on the first instance only, under its lock", async () => {
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      InstanceIds: [A],
      Parameters: { phase: ["start"], trigger: ["rebootstrap"] },
      Comment: `launchgate rebootstrap ${operations.only().operationId}`,
    });
    expect(operations.locks.get(A)?.operationId).toBe(operations.only().operationId);
    expect(operations.only()).toMatchObject({
      step: "running",
      current: { instanceId: A, commandId: "cmd-1" },
    });
  });

  it("moves to the next instance only once the first is healthy again", async () => {
    await step();
    invocation(h, { status: "Success" });
    await step();
    expect(operations.only().step).toBe("verifying");
    targetHealth(h, "unhealthy", "Target.FailedHealthChecks");
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);

    // Healthy right after the command is the load balancer's view from before the restart: it proves
    // nothing until the unhealthy threshold of checks (2 × 30 s) plus one interval could have seen it.
    targetHealth(h, "healthy");
    h.advanceSeconds(40);
    await step();
    expect(operations.only().results).toEqual([]);
    h.advanceSeconds(50);
    await step();
    expect(operations.only().results).toEqual([
      {
        instanceId: A,
        outcome: "succeeded",
        commandId: "cmd-1",
        seconds: 90,
        reason: "re-bootstrapped; healthy in cnt-backend-tg",
      },
    ]);
    expect(operations.locks.has(A)).toBe(false);
    await step();
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(h.ssmMock).toHaveReceivedNthCommandWith(SendCommandCommand, 2, { InstanceIds: [B] });
  });

  it("stops with a reason naming the error when SendCommand is refused, and releases the lock", async () => {
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("AccessDeniedException", "not authorized"));
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
    expect(operations.only()).toMatchObject({ status: "failed" });
    expect(operations.only().results[0]?.reason).toMatch(/SSM agent on i-0aaaaaaaaaaaaaaa1 is not reachable/);
  });

  it("leaves a throttled send to be retried: the step throws and the operation keeps running", async () => {
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    await expect(step()).rejects.toThrow("Rate exceeded");
    expect(operations.only()).toMatchObject({ status: "running", step: "starting" });
  });

  it("stops at the first failure and never touches the next instance", async () => {
    await step();
    invocation(h, { status: "Failed", stderr: "launchgate: FAILED step compose-up (exit 1)" });
    await step();
    const op = operations.only();
    expect(op.status).toBe("failed");
    expect(op.results[0]).toMatchObject({
      instanceId: A,
      outcome: "failed",
      reason:
        'bootstrap step "compose-up" failed (command cmd-1, status Failed): launchgate: FAILED step compose-up (exit 1)',
    });
    expect(operations.locks.size).toBe(0);
    await expect(step()).rejects.toThrow("operation already finished");
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("fails an instance that does not turn healthy within its target group's budget", async () => {
    await step();
    invocation(h, { status: "Success" });
    await step();
    targetHealth(
      h,
      "unhealthy",
      "Target.ResponseCodeMismatch",
      "Health checks failed with these codes: [502]",
    );
    h.advanceSeconds(301);
    await step();
    expect(operations.only().results[0]?.reason).toMatch(
      /^not healthy after 301 s: target group cnt-backend-tg still reports unhealthy/,
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
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

async function seedRecord(instanceId: string) {
  const { openRecord } = await import("../../../shared/gate/start-gate.js");
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
