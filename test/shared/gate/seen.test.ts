import {
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeInstanceInformationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { NotYetError } from "../../../shared/errors.js";
import type { RecheckEvent } from "../../../shared/events/gate-event.js";
import { parseRecheck } from "../../../shared/events/parse-recheck.js";
import { EARLY_RECHECK_RETRIES } from "../../../shared/gate/active-wait.js";
import { onCommandFinished } from "../../../shared/gate/command-outcome.js";
import { onHealthRecheck } from "../../../shared/gate/health-gate.js";
import type { RecheckMessage } from "../../../shared/gate/ports.js";
import { advance } from "../../../shared/gate/record.js";
import { onAgentRecheck } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  groupTargetGroups,
  invocation,
  sendCommandReturns,
  targetHealth,
} from "../../support/aws-stubs.js";
import { openGate, waitingGate } from "../../support/drive.js";
import { commandFinished } from "../../support/events.js";
import { type GateHarness, INSTANCE_ID } from "../../support/gate-harness.js";

/** The last re-check scheduled, as the function receives it: through SQS's JSON and the parser. */
function delivered(h: GateHarness, step: "agent" | "health"): RecheckEvent {
  const last = h.rechecks.last();
  expect(last.message.step).toBe(step);
  return parseRecheck(JSON.stringify(last.message), ["agent", "health"]);
}

let h: GateHarness;
let loads: ReturnType<typeof vi.spyOn>;
beforeEach(async () => {
  h = await waitingGate();
  loads = vi.spyOn(h.store, "load");
});

describe("a re-check that comes before the save it was scheduled for (throttled)", () => {
  it("is not yet, for a few tries — after them, the round goes by what the store holds", async () => {
    const record = h.store.get(INSTANCE_ID);
    // A round scheduled for the next version, whose save has not landed yet.
    const event = { ...delivered(h, "agent"), attempt: 1 };
    expect(event.forVersion).toBe(record.version);
    const ahead = { ...event, forVersion: record.version + 1 };

    await expect(onAgentRecheck(h.deps, ahead)).rejects.toBeInstanceOf(NotYetError);
    await expect(
      onAgentRecheck(h.deps, { ...ahead, attempt: EARLY_RECHECK_RETRIES }),
    ).resolves.toBeUndefined();
    expect(h.store.get(INSTANCE_ID)).toEqual(record);
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe("an agent re-check carrying its wait", () => {
  it("carries what a round needs, and survives SQS's JSON and the parser", () => {
    const event = delivered(h, "agent");
    const record = h.store.get(INSTANCE_ID);
    expect(event.seen).toMatchObject({ version: record.version, phase: "awaiting-agent" });
    // Read again, at the latest, when the hook's next heartbeat or the chain's next sign of life is due
    // (each a 200 s ceiling after the last: here the wait's start), or at the phase deadline.
    expect(record.chainSeenAt).toBeUndefined();
    expect(event.seen?.readBy).toBe(
      Math.min(record.lastHeartbeatAt + 200_000, record.phaseStartedAt + 200_000, record.phaseDeadline ?? 0),
    );
  });

  it("reads the record when the chain's sign of life is due, though the reconciler heartbeated since", async () => {
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, { ...record, lastHeartbeatAt: record.phaseStartedAt + 150_000 });
    h.advanceSeconds(10);
    await onAgentRecheck(h.deps, { ...delivered(h, "agent"), attempt: 1 }); // reads; a round carrying it
    const event = delivered(h, "agent");
    expect(event.seen?.readBy).toBe(record.phaseStartedAt + 200_000);
    loads.mockClear();
    h.advanceSeconds(190);

    await onAgentRecheck(h.deps, event);

    expect(loads).toHaveBeenCalled();
    expect(h.autoScalingMock).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(h.store.get(INSTANCE_ID).chainSeenAt).toBe(h.now());
  });

  it("does not read the record while the agent is not Online: the next round carries the same", async () => {
    const event = delivered(h, "agent");
    h.advanceSeconds(10);

    await onAgentRecheck(h.deps, event);

    expect(loads).not.toHaveBeenCalled();
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(h.rechecks.last().message.seen).toEqual(event.seen);
  });

  it("reads the record once the agent is Online, asks SSM once, and sends the bootstrap", async () => {
    const event = delivered(h, "agent");
    h.advanceSeconds(10);
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");

    await onAgentRecheck(h.deps, event);

    expect(loads).toHaveBeenCalledTimes(1);
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-1" });
  });

  it("reads the record (and heartbeats) once a heartbeat is due, agent or not", async () => {
    const event = delivered(h, "agent");
    h.advanceSeconds(200);

    await onAgentRecheck(h.deps, event);

    expect(loads).toHaveBeenCalled();
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(h.store.get(INSTANCE_ID).lastHeartbeatAt).toBe(h.now());
  });

  it("reads the record when it is a retry, whatever it carries", async () => {
    const event = delivered(h, "agent");
    h.advanceSeconds(10);

    await onAgentRecheck(h.deps, { ...event, attempt: 1 });

    expect(loads).toHaveBeenCalledTimes(1);
  });

  it("sends nothing for a wait that moved on without it: the Online agent makes it read, and it drops", async () => {
    const event = delivered(h, "agent");
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(
      INSTANCE_ID,
      advance(record, { phase: "bootstrapping", commandId: "cmd-x" }, "", h.now()),
    );
    h.advanceSeconds(10);
    agentPing(h, "Online");

    await expect(onAgentRecheck(h.deps, event)).rejects.toThrow("another phase");
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
  });
});

describe("a health re-check carrying its wait", () => {
  let event: RecheckEvent;
  beforeEach(async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    groupTargetGroups(h);
    targetHealth(h, "initial", "Elb.RegistrationInProgress");
    await openGate(h);
    invocation(h, { status: "Success" });
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    event = delivered(h, "health");
    loads.mockClear();
    h.advanceSeconds(10);
  });

  it("does not read the record while the target is still checking", async () => {
    await onHealthRecheck(h.deps, event);

    expect(loads).not.toHaveBeenCalled();
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1);
    const next: RecheckMessage = h.rechecks.last().message;
    expect(next).toMatchObject({ step: "health", seen: event.seen });
  });

  it("reads the record and completes with CONTINUE once healthy", async () => {
    targetHealth(h, "healthy");
    h.elbv2Mock.resetHistory();

    await onHealthRecheck(h.deps, event);

    expect(loads).toHaveBeenCalledTimes(1);
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1); // not asked again
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "continued", outcome: "CONTINUE" });
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "CONTINUE",
    });
  });

  it("reads the record for a target still unknown after propagation, to register it again", async () => {
    targetHealth(h, "unused", "Target.NotRegistered");
    h.advanceSeconds(30);

    await onHealthRecheck(h.deps, event);

    expect(loads).toHaveBeenCalled();
  });
});
