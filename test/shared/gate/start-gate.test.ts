import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DescribeInstanceInformationCommand,
  ListCommandsCommand,
  SendCommandCommand,
} from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { NotYetError, SkipEventError } from "../../../shared/errors.js";
import { classifySendError } from "../../../shared/gate/bootstrap-command.js";
import { gridDelaySeconds } from "../../../shared/gate/keep-alive.js";
import { SEND_THROTTLE_RETRIES } from "../../../shared/gate/send-bootstrap.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  awsServiceError,
  commandsOnInstance,
  hookAcceptsCompletion,
  lifecycleOutput,
  lifecycleState,
  noActiveLifecycleAction,
  sendCommandReturns,
} from "../../support/aws-stubs.js";
import { openGate } from "../../support/drive.js";
import { launchEvent, recheck } from "../../support/events.js";
import {
  DOCUMENT,
  type GateHarness,
  GROUP,
  gateHarness,
  HOOK,
  INSTANCE_ID,
  TOKEN,
} from "../../support/gate-harness.js";
import { withPollClients } from "../../support/poll-clients.js";

let h: GateHarness;
beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
});

describe("startGate", () => {
  it("opens the gate and schedules the agent check on the burst's grid; the check sends the bootstrap and watches it", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");

    await startGate(h.deps, launchEvent());
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
    // A new instance is still booting: its first look joins the grid (10 s from T0, which is on it).
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 10,
    });

    await onAgentRecheck(h.deps, recheck("agent"));

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: DOCUMENT,
      DocumentVersion: "$LATEST",
      InstanceIds: [INSTANCE_ID],
      Parameters: { phase: ["all"], trigger: ["launch"] },
      Comment: `launchgate launch ${TOKEN}`,
    });
    const record = h.store.get(INSTANCE_ID);
    expect(record).toMatchObject({
      phase: "bootstrapping",
      commandId: "cmd-1",
      token: TOKEN,
      groupName: GROUP,
    });
    // The status event is what moves the gate on; its own look is the fallback, at the heartbeat's pace.
    expect(h.rechecks.last()).toEqual({
      message: {
        step: "command",
        instanceId: INSTANCE_ID,
        token: TOKEN,
        commandId: "cmd-1",
        // Scheduled under the send claim, before the bootstrapping save.
        forVersion: h.store.get(INSTANCE_ID).version - 1,
      },
      delaySeconds: 180,
    });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    // Listing the instance's commands is for taking over a dead claim only, never the normal path.
    expect(h.ssmMock).not.toHaveReceivedCommand(ListCommandsCommand);
  });

  it("takes a throttled agent poll as 'not yet': no failure, the next look at a stretched pace", async () => {
    agentPing(h, undefined);
    await openGate(h);
    h.ssmMock
      .on(DescribeInstanceInformationCommand)
      .rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    const before = h.store.get(INSTANCE_ID);

    await onAgentRecheck(h.deps, recheck("agent"));

    expect(h.store.get(INSTANCE_ID)).toEqual(before);
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    // The dense 10 s pace doubled: on the 20 s grid (heartbeat ceiling 200 s).
    const next = h.rechecks.last();
    expect(next?.message).toMatchObject({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN });
    expect(next?.delaySeconds).toBe(gridDelaySeconds(h.now(), 20, 200));
    expect(next?.delaySeconds).not.toBe(gridDelaySeconds(h.now(), 10, 200)); // not the unstretched pace
  });

  it("asks for the agent through the poll client (few attempts), not the retrying one", async () => {
    agentPing(h, undefined);
    await openGate(h);
    const { deps, sent } = withPollClients(h.deps);

    await onAgentRecheck(deps, recheck("agent"));

    expect(sent.pollSsm).toEqual(["DescribeInstanceInformationCommand"]);
    expect(sent.ssm).not.toContain("DescribeInstanceInformationCommand");
  });

  it("records a heartbeat that is due as it moves on to sending, not only while it waits", async () => {
    agentPing(h, undefined);
    await openGate(h);
    h.autoScalingMock.resetHistory();
    h.advanceSeconds(250); // re-checks were lost meanwhile: the last heartbeat is the wait's start
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", lastHeartbeatAt: h.now() });
  });

  it("looks at once for the agent of an instance coming out of a warm pool (it was running before)", async () => {
    lifecycleState(h, "Warmed:Pending:Wait");
    await startGate(h.deps, launchEvent({ origin: "WarmPool", destination: "AutoScalingGroup" }));
    expect(h.rechecks.last().delaySeconds).toBe(0);
  });

  it("waits for an agent that is not Online yet, without sending", async () => {
    agentPing(h, undefined);

    await openGate(h);

    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 10, // the dense agent pace, on its grid (T0 is on it)
    });
  });

  it("runs only the prepare phase for a launch into the warm pool", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    lifecycleState(h, "Warmed:Pending:Wait");

    await openGate(h, launchEvent({ origin: "EC2", destination: "WarmPool" }));

    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      Parameters: { phase: ["prepare"], trigger: ["launch"] },
    });
    expect(h.store.get(INSTANCE_ID).mode).toEqual({ bootstrapPhase: "prepare", needsTraffic: false });
  });

  it("runs only the start phase when a warm instance moves into service", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");

    await openGate(h, launchEvent({ origin: "WarmPool", destination: "AutoScalingGroup" }));

    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      Parameters: { phase: ["start"], trigger: ["launch"] },
    });
  });

  it("counts heartbeats and deadlines from the event's time, not from when it was processed", async () => {
    agentPing(h, undefined);
    // An EventBridge retry delivers the event two minutes after the wait began.
    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 120_000 }));
    const record = h.store.get(INSTANCE_ID);
    expect(record.startedAt).toBe(h.now() - 120_000);
    expect(record.deadline).toBe(h.now() - 120_000 + 2400_000);

    h.advanceSeconds(80);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
  });

  it("re-kicks the agent check on a duplicate event while the gate is at its first step", async () => {
    agentPing(h, undefined);
    await startGate(h.deps, launchEvent());
    await startGate(h.deps, launchEvent());

    expect(h.rechecks.scheduled.filter((s) => s.message.step === "agent")).toHaveLength(2);
    expect(h.store.get(INSTANCE_ID).version).toBe(1);
  });

  it("sends only once however many agent checks run, and skips a duplicate event once past the first step", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await startGate(h.deps, launchEvent());
    await startGate(h.deps, launchEvent());
    await onAgentRecheck(h.deps, recheck("agent"));

    await expect(onAgentRecheck(h.deps, recheck("agent"))).rejects.toThrow("gate is in another phase");
    await expect(startGate(h.deps, launchEvent())).rejects.toThrow(
      "duplicate launch event; the gate is already past its first step",
    );
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("leaves a fresh send claim to its sender, and takes over one left by a dead invocation", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await startGate(h.deps, launchEvent());
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, {
      ...record,
      phase: "sending-command",
      phaseStartedAt: h.now(),
      version: 2,
    });

    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.store.get(INSTANCE_ID).phase).toBe("sending-command");

    h.advanceSeconds(46);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.store.get(INSTANCE_ID).phase).toBe("bootstrapping");
  });

  it("keeps the chain alive under a live send claim: the re-check reschedules itself for when the lease ends", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await startGate(h.deps, launchEvent());
    const record = h.store.get(INSTANCE_ID);
    // The sender claimed 10 s ago; its SendCommand and its own reschedule were throttled, and this
    // is the fast retry of the same re-check.
    h.store.records.set(INSTANCE_ID, {
      ...record,
      phase: "sending-command",
      phaseStartedAt: h.now() - 10_000,
      version: 2,
    });

    await onAgentRecheck(h.deps, { ...recheck("agent"), attempt: 1 });

    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 36,
    });
    expect(h.logs).toContainEqual(
      expect.objectContaining({
        level: "info",
        message: "another invocation holds the send claim; re-checking when its lease ends",
      }),
    );
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sending-command", version: 2 });

    // Nobody finished the send: the rescheduled re-check takes the claim over and sends.
    h.advanceSeconds(36);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-1" });
  });

  it("carries a re-check's command id along when it waits out a live send claim", async () => {
    agentPing(h, "Online");
    await startGate(h.deps, launchEvent());
    const record = h.store.get(INSTANCE_ID);
    h.store.records.set(INSTANCE_ID, {
      ...record,
      phase: "sending-command",
      phaseStartedAt: h.now() - 45_000,
      version: 2,
    });

    await onAgentRecheck(h.deps, { ...recheck("agent"), commandId: "cmd-9" });

    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN, commandId: "cmd-9" },
      delaySeconds: 1,
    });
  });

  it("skips, touching nothing, a group that is not configured", async () => {
    await expect(startGate(h.deps, launchEvent({ groupName: "someone-elses-asg" }))).rejects.toThrow(
      "group is not configured for launchgate",
    );
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    expect(h.store.records.size).toBe(0);
  });

  it("skips another hook on a gated group", async () => {
    await expect(startGate(h.deps, launchEvent({ hookName: "other-hook" }))).rejects.toThrow(
      "hook is not launchgate's",
    );
    expect(h.store.records.size).toBe(0);
  });

  it("skips an instance that is no longer waiting at the hook (late event)", async () => {
    lifecycleState(h, "InService");
    await expect(startGate(h.deps, launchEvent())).rejects.toThrow("instance is not waiting at the hook");
    expect(h.store.records.size).toBe(0);
  });

  it("skips an instance that has disappeared", async () => {
    lifecycleState(h, undefined);
    await expect(startGate(h.deps, launchEvent())).rejects.toBeInstanceOf(SkipEventError);
    await expect(startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 300_000 }))).rejects.toBeInstanceOf(
      SkipEventError,
    );
    expect(h.store.records.size).toBe(0);
  });

  it("trusts a fresh event without asking Auto Scaling: the instance is checked before anything is sent to it", async () => {
    lifecycleState(h, "Pending"); // the API lags the event
    agentPing(h, undefined);
    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 5_000 }));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });

  it("retries, not drops, an older event that Auto Scaling's API still shows as Pending", async () => {
    lifecycleState(h, "Pending");
    // An older event is checked (an EventBridge retry of a launch two minutes ago, say).
    const attempt = startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 125_000 }));
    await expect(attempt).rejects.toBeInstanceOf(NotYetError);
    await expect(attempt).rejects.not.toBeInstanceOf(SkipEventError);
    await expect(attempt).rejects.toMatchObject({ name: "NotYetError" });
    expect(h.store.records.size).toBe(0);
    expect(h.rechecks.scheduled).toHaveLength(0);

    // It asked again, seconds apart, before giving the event back for a retry.
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(DescribeAutoScalingInstancesCommand, 4);

    // The redelivery finds the instance waiting and opens the gate.
    lifecycleState(h, "Pending:Wait");
    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 126_000 }));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
  });

  it("waits a few seconds for Auto Scaling's API to catch up before giving the event back", async () => {
    h.autoScalingMock
      .on(DescribeAutoScalingInstancesCommand)
      .resolvesOnce(lifecycleOutput("Pending"))
      .resolves(lifecycleOutput("Pending:Wait"));
    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 1_000 }));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
  });

  it("trusts a fresh event for an instance Auto Scaling does not list yet", async () => {
    lifecycleState(h, undefined);
    agentPing(h, undefined);
    await startGate(h.deps, launchEvent({ waitStartedAt: h.now() - 30_000 }));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
  });

  it("abandons at once, naming the error and the IAM role, when SendCommand is refused (AccessDeniedException)", async () => {
    agentPing(h, "Online");
    h.ssmMock
      .on(SendCommandCommand)
      .rejects(
        awsServiceError(
          "AccessDeniedException",
          "User: arn:aws:sts::123456789012:assumed-role/launchgate-launch/fn is not authorized to perform: ssm:SendCommand",
        ),
      );

    await openGate(h);

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "ABANDON",
    });
    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("abandoned");
    expect(record.reason).toMatch(
      /^bootstrap could not be sent \(AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role\/launchgate-launch\/fn is not authorized to perform: ssm:SendCommand\): check /,
    );
    expect(record.reason).toContain("IAM role of the launch function");
    expect(h.rechecks.scheduled.filter((s) => s.message.step === "agent")).toHaveLength(1);
  });

  it("abandons at once, naming the document, when SendCommand says InvalidDocument", async () => {
    agentPing(h, "Online");
    h.ssmMock
      .on(SendCommandCommand)
      .rejects(awsServiceError("InvalidDocument", `document ${DOCUMENT} does not exist`));

    await openGate(h);

    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("abandoned");
    expect(record.reason).toMatch(
      /^bootstrap could not be sent \(InvalidDocument: document .* does not exist\): check /,
    );
    expect(record.reason).toContain(`SSM document ${DOCUMENT}`);
  });

  it("sends a throttled SendCommand again in place, under the same claim, until SSM takes it", async () => {
    agentPing(h, "Online");
    h.ssmMock
      .on(SendCommandCommand)
      .rejectsOnce(awsServiceError("ThrottlingException", "Rate exceeded"))
      .rejectsOnce(awsServiceError("ThrottlingException", "Rate exceeded"))
      .resolves({ Command: { CommandId: "cmd-3rd" } });

    await openGate(h);

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 3);
    const record = h.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "bootstrapping", commandId: "cmd-3rd" });
    // The claim was never given back: no "send failed" in between, one claim, one send recorded.
    expect(record.history.map((entry) => entry.phase)).toEqual([
      "awaiting-agent",
      "sending-command",
      "bootstrapping",
    ]);
  });

  it("gives the claim back and retries like an agent not addressable yet once SSM keeps throttling", async () => {
    agentPing(h, "Online");
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("ThrottlingException", "Rate exceeded"));

    await openGate(h);

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, SEND_THROTTLE_RETRIES + 1);
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
    });
  });

  it("never sends again past the retry window, however few retries it used", async () => {
    agentPing(h, "Online");
    // Each throttled answer takes 6 s to come: the third attempt would start past the 12 s window.
    h.ssmMock.on(SendCommandCommand).callsFake(() => {
      h.advanceSeconds(6);
      throw awsServiceError("ThrottlingException", "Rate exceeded");
    });

    await openGate(h);

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 2);
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
  });

  it("sends nothing again after an error that is no throttle", async () => {
    agentPing(h, "Online");
    h.ssmMock.on(SendCommandCommand).rejects(awsServiceError("InvalidInstanceId", "not addressable"));

    await openGate(h);

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
  });

  it("keeps the send claim after a send with no clear answer, and checks for the command before sending again", async () => {
    agentPing(h, "Online");
    h.ssmMock.on(SendCommandCommand).rejects(Object.assign(new Error("timed out"), { name: "TimeoutError" }));
    await openGate(h);
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "sending-command", claimLeaseSeconds: 360 });
    // Held past SSM's 300 s delivery timeout; re-checked within a third of the heartbeat timeout.
    expect(h.rechecks.last()).toMatchObject({ message: { step: "agent" }, delaySeconds: 200 });

    // Still within the lease: nothing is sent, the hook is kept alive, and it looks again later.
    h.advanceSeconds(200);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);

    // The command had gone through: the takeover finds it by its comment and adopts it.
    commandsOnInstance(h, [{ id: "cmd-sent", comment: `launchgate launch ${TOKEN}`, requestedAt: h.now() }]);
    h.advanceSeconds(161);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-sent" });
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("goes back to waiting when SendCommand says InvalidInstanceId (agent not yet addressable)", async () => {
    agentPing(h, "Online");
    const error = new Error("Instances [[i-0123456789abcdef0]] not in a valid state");
    error.name = "InvalidInstanceId";
    h.ssmMock.on(SendCommandCommand).rejects(error);

    await openGate(h);

    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "agent", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 10, // the dense agent pace, on its grid (T0 is on it)
    });

    sendCommandReturns(h, "cmd-2");
    h.advanceSeconds(15);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-2" });
  });
});

describe("onAgentRecheck", () => {
  beforeEach(async () => {
    agentPing(h, undefined);
    await openGate(h);
  });

  it("records a heartbeat once a third of the heartbeat timeout has passed", async () => {
    h.advanceSeconds(150);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).not.toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);

    h.advanceSeconds(60);
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).toHaveReceivedCommandWith(RecordLifecycleActionHeartbeatCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
    });
  });

  it("records that the wait ended when the hook refuses a heartbeat (timed out or completed elsewhere)", async () => {
    // The hook timed out between two re-checks: the instance is being terminated, the guard ran before.
    h.autoScalingMock.on(RecordLifecycleActionHeartbeatCommand).callsFake(async () => {
      lifecycleState(h, "Terminating");
      throw noActiveLifecycleAction();
    });
    h.advanceSeconds(210);
    await expect(onAgentRecheck(h.deps, recheck("agent"))).rejects.toThrow(
      "hook no longer waiting; heartbeat refused",
    );
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "gone", reason: "instance is now Terminating" });
  });

  it("abandons with an actionable reason when the agent never comes Online", async () => {
    agentPing(h, "ConnectionLost");
    h.advanceSeconds(600);

    await onAgentRecheck(h.deps, recheck("agent"));

    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      AutoScalingGroupName: GROUP,
      LifecycleHookName: HOOK,
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "ABANDON",
    });
    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("abandoned");
    expect(record.reason).toMatch(
      /^SSM agent did not come Online within 600 s \(last ping status ConnectionLost\)/,
    );
    expect(record.reason).toContain(
      "carries the SSM agent's permissions (ssmAgentPolicyStatements(), or AmazonSSMManagedInstanceCore)",
    );
    expect(h.logs.find((line) => line.level === "error")).toMatchObject({
      message: "launch abandoned",
      extra: { outcome: "ABANDON", reason: record.reason },
    });
  });

  it("drops a re-check that belongs to an earlier wait", async () => {
    await expect(onAgentRecheck(h.deps, recheck("agent", "an-older-token"))).rejects.toThrow(
      "re-check belongs to an earlier wait",
    );
  });

  it("stops quietly, sending nothing, when the agent is Online but the instance was terminated meanwhile", async () => {
    agentPing(h, "Online");
    lifecycleState(h, "Terminating");
    await expect(onAgentRecheck(h.deps, recheck("agent"))).rejects.toThrow("instance left the wait");
    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "gone", reason: "instance is now Terminating" });
    expect(h.ssmMock).not.toHaveReceivedCommand(SendCommandCommand);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("asks Auto Scaling nothing while the agent is not Online", async () => {
    agentPing(h, undefined);
    h.autoScalingMock.resetHistory();
    await onAgentRecheck(h.deps, recheck("agent"));
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
  });
});

describe("classifySendError", () => {
  it("treats InvalidInstanceId as an agent SSM cannot address yet", () => {
    expect(classifySendError(awsServiceError("InvalidInstanceId", "Instances not in a valid state"))).toBe(
      "agent-not-addressable",
    );
  });

  it.each([["ThrottlingException"], ["TooManyRequestsException"], ["RequestLimitExceeded"], ["Throttling"]])(
    "treats %s as transient",
    (name) => {
      expect(classifySendError(awsServiceError(name, "Rate exceeded"))).toBe("transient");
    },
  );

  it("treats any error the SDK marks as throttling as transient; a server fault's outcome is unknown", () => {
    expect(
      classifySendError(
        awsServiceError("SomethingNew", "slow down", "client", 400, { $retryable: { throttling: true } }),
      ),
    ).toBe("transient");
    expect(classifySendError(awsServiceError("InternalServerError", "oops", "server"))).toBe("unknown");
    expect(classifySendError(awsServiceError("ServiceUnavailable", "busy", "client", 503))).toBe("unknown");
  });

  it("treats a request that got no answer (timeout, connection reset) as of unknown outcome", () => {
    expect(classifySendError(Object.assign(new Error("timed out"), { name: "TimeoutError" }))).toBe(
      "unknown",
    );
    expect(classifySendError(Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }))).toBe(
      "unknown",
    );
  });

  it.each([
    ["AccessDeniedException"],
    ["InvalidDocument"],
    ["InvalidDocumentVersion"],
    ["InvalidParameters"],
    ["UnsupportedPlatformType"],
  ])("treats %s as a refusal that retrying cannot fix", (name) => {
    expect(classifySendError(awsServiceError(name, "refused"))).toBe("refused");
    // Also when only the name is known (no $fault / $metadata on the error).
    expect(classifySendError(Object.assign(new Error("refused"), { name }))).toBe("refused");
  });
});
