import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { ListCommandsCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { StaleRecordError } from "../../../shared/errors.js";
import {
  commandComment,
  findSentCommand,
  LIST_COMMANDS_MAX_PAGES,
} from "../../../shared/gate/bootstrap-command.js";
import { onCommandRecheck } from "../../../shared/gate/command-outcome.js";
import { advance, type GateRecord } from "../../../shared/gate/record.js";
import { SEND_CLAIM_TTL_SECONDS, sendClaimLeaseSeconds } from "../../../shared/gate/send-bootstrap.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  commandsOnInstance,
  hookAcceptsCompletion,
  invocation,
  invocationNotYetVisible,
  lifecycleState,
} from "../../support/aws-stubs.js";
import { launchEvent, recheck } from "../../support/events.js";
import {
  type GateHarness,
  gateHarness,
  INSTANCE_ID,
  recheckForStored,
  TOKEN,
} from "../../support/gate-harness.js";

let h: GateHarness;
beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, "Online");
});

/** Opens the gate, then leaves a send claim taken `ageSeconds` ago by an invocation that died. */
async function deadClaim(ageSeconds: number): Promise<GateRecord> {
  await startGate(h.deps, launchEvent());
  const record = h.store.get(INSTANCE_ID);
  const claimed = advance(record, { phase: "sending-command", claimedAt: h.now() }, "claimed", h.now());
  h.store.records.set(INSTANCE_ID, claimed);
  h.advanceSeconds(ageSeconds);
  return claimed;
}

/**
 * SendCommand succeeds, but before its sender saves the command id the reconciler heartbeats the
 * record (a save of its own), so the sender's save loses the race: the record stays sending-command.
 */
async function sendThenLoseTheSave(): Promise<void> {
  h.ssmMock.on(SendCommandCommand).callsFake(async () => {
    const current = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, advance(current, { lastHeartbeatAt: h.now() }, "", h.now()));
    return { Command: { CommandId: "cmd-1" } };
  });
  await startGate(h.deps, launchEvent());
  await expect(onAgentRecheck(h.deps, recheck("agent"))).rejects.toBeInstanceOf(StaleRecordError);
  expect(h.store.get(INSTANCE_ID).phase).toBe("sending-command");
}

describe("a send claim's lease", () => {
  it("runs from when the claim was taken, not from when the phase began", () => {
    const now = 1_000_000;
    const record = {
      phase: "sending-command",
      phaseStartedAt: now - 600_000,
      claimedAt: now - 5_000,
    } as GateRecord;
    expect(sendClaimLeaseSeconds(record, now)).toBe(SEND_CLAIM_TTL_SECONDS - 5);
  });

  it("is a whole new lease for a takeover: a duplicate re-check during the takeover's send does not send again", async () => {
    await deadClaim(SEND_CLAIM_TTL_SECONDS + 1);
    let sends = 0;
    let duplicate: Promise<void> | undefined;
    h.ssmMock.on(SendCommandCommand).callsFake(async () => {
      sends += 1;
      // While the takeover's SendCommand is in flight, a duplicate of the chain's re-check arrives
      // (a fast retry, a reconciler kick, a duplicate event's kick).
      if (sends === 1) {
        duplicate = onAgentRecheck(h.deps, recheck("agent"));
        await duplicate;
      }
      return { Command: { CommandId: `cmd-${sends}` } };
    });

    await onAgentRecheck(h.deps, recheck("agent"));

    await expect(duplicate).resolves.toBeUndefined();
    expect(sends).toBe(1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-1" });
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        message: "another invocation holds the send claim; re-checking when its lease ends",
      }),
    );
  });

  it("gets a re-check for its lease's end from a duplicate launch event, and one at once after it", async () => {
    // The event may be the retry of one whose handler saved the record but never sent the first
    // re-check: the claim's sender keeps its own rounds back, so without this nothing would come back
    // to the wait should the sender die.
    await deadClaim(10);
    const before = h.rechecks.scheduled.length;
    await startGate(h.deps, launchEvent());
    expect(h.rechecks.scheduled).toHaveLength(before + 1);
    const atLeaseEnd = h.rechecks.last();
    expect(atLeaseEnd.message).toEqual(recheckForStored(h, "agent"));
    // On the agent pace's grid (keep-alive.ts): between half and one and a half of the lease left.
    const leaseLeft = SEND_CLAIM_TTL_SECONDS - 10 + 1;
    expect(atLeaseEnd.delaySeconds).toBeGreaterThanOrEqual(Math.floor(leaseLeft / 2));
    expect(atLeaseEnd.delaySeconds).toBeLessThanOrEqual(Math.ceil(leaseLeft * 1.5));

    h.advanceSeconds(SEND_CLAIM_TTL_SECONDS);
    await startGate(h.deps, launchEvent());
    expect(h.rechecks.last()).toEqual({ message: recheckForStored(h, "agent"), delaySeconds: 0 });
    expect(h.store.get(INSTANCE_ID).phase).toBe("sending-command");
  });
});

describe("taking over an expired send claim", () => {
  it("adopts the command its sender sent but could not record, instead of sending a second bootstrap", async () => {
    await sendThenLoseTheSave();
    const sentAt = h.now();
    // The first command re-check found the invocation not visible yet, so nothing adopted it.
    invocationNotYetVisible(h);
    await onCommandRecheck(h.deps, { kind: "recheck", ...h.rechecks.last().message });
    expect(h.store.get(INSTANCE_ID).phase).toBe("sending-command");
    commandsOnInstance(h, [{ id: "cmd-1", comment: commandComment(TOKEN), requestedAt: sentAt }]);

    h.advanceSeconds(SEND_CLAIM_TTL_SECONDS + 1);
    await onAgentRecheck(h.deps, recheck("agent"));

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const record = h.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "bootstrapping", commandId: "cmd-1" });
    expect(record.phaseDeadline).toBe(h.now() + (1200 + 120) * 1000);
    expect(h.ssmMock).toHaveReceivedCommandWith(ListCommandsCommand, {
      InstanceId: INSTANCE_ID,
      Filters: [
        { key: "InvokedAfter", value: new Date(record.startedAt - 60_000).toISOString().replace(".000", "") },
      ],
    });
    expect(h.rechecks.last()).toEqual({
      message: {
        step: "command",
        instanceId: INSTANCE_ID,
        token: TOKEN,
        commandId: "cmd-1",
        forVersion: record.version,
      },
      delaySeconds: 0,
    });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("sends when no command of this wait was sent: other commands on the instance are not ours", async () => {
    await deadClaim(SEND_CLAIM_TTL_SECONDS + 1);
    commandsOnInstance(h, [
      { id: "cmd-other", comment: commandComment("an-earlier-wait") },
      { id: "cmd-adhoc", comment: "someone's patching run" },
    ]);
    h.ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-2" } });

    await onAgentRecheck(h.deps, recheck("agent"));

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    const record = h.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "bootstrapping", commandId: "cmd-2" });
    expect(record.history.map((line) => line.note)).toContain(
      "send claim taken 46 s ago expired with no command sent; checking the agent again",
    );
  });
});

describe("the command re-check of a command whose id was not saved", () => {
  it("carries the command id, and adopts the command by its comment rather than sending again", async () => {
    await sendThenLoseTheSave();
    const first = h.rechecks.last();
    expect(first.message).toMatchObject({ step: "command", commandId: "cmd-1" });

    h.advanceSeconds(first.delaySeconds);
    invocation(h, { status: "InProgress", comment: commandComment(TOKEN) });
    await onCommandRecheck(h.deps, { kind: "recheck", ...first.message });
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-1" });

    // An agent re-check arriving after that finds the gate moved on.
    await expect(onAgentRecheck(h.deps, recheck("agent"))).rejects.toThrow("gate is in another phase");
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.ssmMock).not.toHaveReceivedCommand(ListCommandsCommand);
  });
});

describe("findSentCommand", () => {
  const record = { instanceId: INSTANCE_ID, token: TOKEN };

  it("pages through the instance's commands and returns the newest of this wait's", async () => {
    h.ssmMock
      .on(ListCommandsCommand)
      .resolvesOnce({ Commands: [{ CommandId: "cmd-x", Comment: "other" }], NextToken: "p2" })
      .resolvesOnce({
        Commands: [
          { CommandId: "cmd-old", Comment: commandComment(TOKEN), RequestedDateTime: new Date(1000) },
          { CommandId: "cmd-new", Comment: commandComment(TOKEN), RequestedDateTime: new Date(2000) },
        ],
      });
    await expect(findSentCommand(h.deps, record, h.now())).resolves.toEqual({
      commandId: "cmd-new",
      requestedAt: 2000,
    });
    expect(h.ssmMock).toHaveReceivedNthCommandWith(ListCommandsCommand, 2, { NextToken: "p2" });
  });

  it("also knows a command sent under the tokenless id the wait had before its event arrived", async () => {
    commandsOnInstance(h, [{ id: "cmd-t", comment: commandComment("instance:i-1@5") }]);
    await expect(
      findSentCommand(h.deps, { ...record, formerToken: "instance:i-1@5" }, h.now()),
    ).resolves.toMatchObject({ commandId: "cmd-t" });
    await expect(findSentCommand(h.deps, record, h.now())).resolves.toBeUndefined();
  });

  it("refuses to say none was sent when it could not look through them all", async () => {
    h.ssmMock.on(ListCommandsCommand).resolves({ Commands: [], NextToken: "more" });
    await expect(findSentCommand(h.deps, record, h.now())).rejects.toThrow(
      "cannot rule out a command already sent",
    );
    expect(h.ssmMock).toHaveReceivedCommandTimes(ListCommandsCommand, LIST_COMMANDS_MAX_PAGES);
  });
});
