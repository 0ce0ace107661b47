import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import {
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { beforeEach, describe, expect, it } from "vitest";
import { onCommandFinished, onCommandRecheck } from "../../../shared/gate/command-outcome.js";
import { onAgentRecheck, startGate } from "../../../shared/gate/start-gate.js";
import {
  agentPing,
  awsServiceError,
  CNT_TARGET_GROUP,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  invocationNotYetVisible,
  lifecycleState,
  sendCommandReturns,
  targetHealth,
} from "../../support/aws-stubs.js";
import { openGate } from "../../support/drive.js";
import { commandFinished, launchEvent, recheck } from "../../support/events.js";
import {
  type GateHarness,
  gateHarness,
  INSTANCE_ID,
  recheckForStored,
  TG_ARN,
  TOKEN,
} from "../../support/gate-harness.js";

let h: GateHarness;
beforeEach(async () => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, "Online");
  sendCommandReturns(h, "cmd-1");
  groupTargetGroups(h);
  targetHealth(h, "unused", "Target.NotRegistered");
  await openGate(h, launchEvent());
  h.advanceSeconds(240);
});

describe("a failed bootstrap", () => {
  it("abandons, naming the failed step and the stderr tail", async () => {
    invocation(h, {
      status: "Failed",
      stdout: "launchgate: step install-docker\nlaunchgate: step pull-images\n",
      stderr:
        "Error response from daemon: pull access denied for cnt-backend\nlaunchgate: FAILED step pull-images (exit 1)\n",
    });

    await onCommandFinished(h.deps, commandFinished("cmd-1", "Failed"));

    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionToken: TOKEN,
      LifecycleActionResult: "ABANDON",
    });
    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("abandoned");
    expect(record.reason).toBe(
      'bootstrap step "pull-images" failed (command cmd-1, status Failed): Error response from daemon: pull access denied for cnt-backend launchgate: FAILED step pull-images (exit 1)',
    );
    expect(h.elbv2Mock).not.toHaveReceivedCommand(RegisterTargetsCommand);
  });

  it("abandons on TimedOut, saying it hit the execution timeout and where it was", async () => {
    invocation(h, {
      status: "TimedOut",
      stdout: "launchgate: step install-docker\nlaunchgate: step pull-images\n",
    });
    await onCommandFinished(h.deps, commandFinished("cmd-1", "TimedOut"));
    expect(h.store.get(INSTANCE_ID).reason).toBe(
      "bootstrap command cmd-1 hit the document's execution timeout of 1200 s during step \"pull-images\": check the instance's network path to the image registry, or raise groups[].bootstrapTimeoutSeconds",
    );
  });

  it("abandons on any other final status that is not Success", async () => {
    invocation(h, { status: "Cancelled" });
    await onCommandFinished(h.deps, commandFinished("cmd-1", "Cancelled"));
    expect(h.store.get(INSTANCE_ID).reason).toBe(
      "bootstrap command failed (command cmd-1, status Cancelled)",
    );
  });
});

describe("a successful bootstrap", () => {
  beforeEach(() =>
    invocation(h, { status: "Success", stdout: "launchgate: bootstrap finished (phase all)" }),
  );

  it("registers the instance with its target group and waits for health, without completing", async () => {
    await onCommandFinished(h.deps, commandFinished("cmd-1"));

    expect(h.elbv2Mock).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      TargetGroupArn: TG_ARN,
      Targets: [{ Id: INSTANCE_ID, Port: 8000 }],
    });
    const record = h.store.get(INSTANCE_ID);
    expect(record.phase).toBe("awaiting-health");
    expect(record.registered).toEqual([
      expect.objectContaining({
        targetGroupArn: TG_ARN,
        name: "cnt-backend-tg",
        port: 8000,
        healthCheck: "HTTP /health on traffic-port expecting 200, timeout 5 s, 5 passes 30 s apart",
      }),
    ]);
    // Budget from the group's own health check: 30 s × (5 + 1) + 30 s slack.
    expect(record.phaseDeadline).toBe(h.now() + 210_000);
    // Densely while a first passing check may come at any moment (see healthPaceSeconds).
    expect(h.rechecks.last()).toMatchObject({
      message: { step: "health", instanceId: INSTANCE_ID, token: TOKEN },
      delaySeconds: 10,
    });
    expect(h.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("moves on once whichever of event and re-check comes first; the other stops", async () => {
    await onCommandRecheck(h.deps, recheck("command"));
    await expect(onCommandFinished(h.deps, commandFinished("cmd-1"))).rejects.toThrow(
      "gate is in another phase",
    );
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(RegisterTargetsCommand, 1);
  });

  it("settles its own command's success from the event alone: no GetCommandInvocation, no look before registering", async () => {
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(h.ssmMock).not.toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(h.elbv2Mock).not.toHaveReceivedCommand(DescribeTargetHealthCommand);
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(RegisterTargetsCommand, 1);
    // 240 s since the wait's last heartbeat: moving on to health records the one that is due.
    expect(h.autoScalingMock).toHaveReceivedCommandTimes(RecordLifecycleActionHeartbeatCommand, 1);
  });

  it("reads a failure in full, whatever the event says, for its reason", async () => {
    invocation(h, { status: "Failed", stderr: "launchgate: FAILED step compose-up (exit 1)\n" });
    await onCommandFinished(h.deps, commandFinished("cmd-1", "Failed"));
    expect(h.ssmMock).toHaveReceivedCommand(GetCommandInvocationCommand);
    expect(h.store.get(INSTANCE_ID).reason).toMatch(/^bootstrap step "compose-up" failed/);
  });

  it("completes a warm-pool prepare with CONTINUE and registers nothing", async () => {
    const warm = gateHarness();
    lifecycleState(warm, "Warmed:Pending:Wait");
    hookAcceptsCompletion(warm);
    agentPing(warm, "Online");
    sendCommandReturns(warm, "cmd-w");
    await openGate(warm, launchEvent({ destination: "WarmPool" }));
    invocation(warm, { status: "Success" });

    await onCommandFinished(warm.deps, commandFinished("cmd-w"));

    expect(warm.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "CONTINUE",
    });
    expect(warm.elbv2Mock).not.toHaveReceivedCommand(RegisterTargetsCommand);
  });

  it("abandons when a target group attached to the group is not allow-listed", async () => {
    groupTargetGroups(h, [{ ...CNT_TARGET_GROUP, TargetGroupName: "rogue-tg" }]);
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    expect(h.store.get(INSTANCE_ID).reason).toBe(
      "target group rogue-tg is attached to cnt-backend-asg but not in launchgate's allow-list (cnt-backend-tg): add it to groups[].targetGroups or detach it",
    );
    expect(h.elbv2Mock).not.toHaveReceivedCommand(RegisterTargetsCommand);
  });

  it("abandons when the target group is not of target type instance", async () => {
    groupTargetGroups(h, [{ ...CNT_TARGET_GROUP, TargetType: "ip" }]);
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    expect(h.store.get(INSTANCE_ID).reason).toMatch(/has target type ip; the gate registers instances/);
  });

  it("abandons when the group has no target group at all", async () => {
    groupTargetGroups(h, []);
    await onCommandFinished(h.deps, commandFinished("cmd-1"));
    expect(h.store.get(INSTANCE_ID).reason).toBe(
      "group cnt-backend-asg has no target group attached (expected cnt-backend-tg): attach it to the group",
    );
  });
});

describe("a throttled look at the running bootstrap", () => {
  it("is 'not yet': no failure, the phase unchanged (the due heartbeat recorded), the next look at the fallback's pace", async () => {
    h.ssmMock
      .on(GetCommandInvocationCommand)
      .rejects(awsServiceError("ThrottlingException", "Rate exceeded"));
    const before = h.store.get(INSTANCE_ID);

    await onCommandRecheck(h.deps, { ...recheck("command"), commandId: "cmd-1" });

    expect(h.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", version: before.version + 1 });
    expect(h.rechecks.last()).toEqual({
      message: {
        step: "command",
        instanceId: INSTANCE_ID,
        token: TOKEN,
        commandId: "cmd-1",
        forVersion: before.version + 1,
      },
      delaySeconds: 180,
    });
  });
});

describe("events that are not the gate's business", () => {
  it("skips another command on the instance", async () => {
    invocation(h, { status: "Success", comment: "someone's ad-hoc command" });
    await expect(onCommandFinished(h.deps, commandFinished("cmd-other"))).rejects.toThrow(
      "command is not the gate's current bootstrap",
    );
  });

  it("skips an event whose invocation SSM does not show yet; the re-check will follow it", async () => {
    invocationNotYetVisible(h);
    await expect(onCommandFinished(h.deps, commandFinished("cmd-1", "Failed"))).rejects.toThrow(
      "command not final yet",
    );
  });

  it("skips an instance without a gate record", async () => {
    h.store.records.clear();
    await expect(onCommandFinished(h.deps, commandFinished("cmd-1"))).rejects.toThrow(
      "no gate record for this instance",
    );
  });
});

describe("a command sent just before a crash", () => {
  /** SendCommand succeeds, then saving its id fails: the record stays in sending-command. */
  async function crashAfterSend(): Promise<GateHarness> {
    const crashed = gateHarness();
    lifecycleState(crashed, "Pending:Wait");
    hookAcceptsCompletion(crashed);
    agentPing(crashed, "Online");
    groupTargetGroups(crashed);
    targetHealth(crashed, "unused", "Target.NotRegistered");
    const save = crashed.store.save.bind(crashed.store);
    crashed.ssmMock.on(SendCommandCommand).callsFake(async () => {
      crashed.deps.store.save = async () => {
        throw new Error("DynamoDB throttled");
      };
      return { Command: { CommandId: "cmd-lost" } };
    });
    await startGate(crashed.deps, launchEvent());
    await expect(onAgentRecheck(crashed.deps, recheck("agent"))).rejects.toThrow("DynamoDB throttled");
    crashed.deps.store.save = save;
    expect(crashed.store.get(INSTANCE_ID).phase).toBe("sending-command");
    return crashed;
  }

  /**
   * Delivers the status event expecting it to fail with `error`, and checks the wait was left in its
   * send claim as it was: nothing saved, no re-check scheduled. Returns the record's version.
   */
  async function expectClaimUntouched(crashed: GateHarness, error: string): Promise<number> {
    const scheduled = crashed.rechecks.scheduled.length;
    const version = crashed.store.get(INSTANCE_ID).version;
    await expect(onCommandFinished(crashed.deps, commandFinished("cmd-lost"))).rejects.toThrow(error);
    expect(crashed.store.get(INSTANCE_ID)).toMatchObject({ phase: "sending-command", version });
    expect(crashed.rechecks.scheduled).toHaveLength(scheduled);
    return version;
  }

  it("is adopted by the status event, through the command's comment", async () => {
    const crashed = await crashAfterSend();
    invocation(crashed, { status: "Success" });
    await onCommandFinished(crashed.deps, commandFinished("cmd-lost"));
    expect(crashed.store.get(INSTANCE_ID)).toMatchObject({ phase: "awaiting-health", commandId: "cmd-lost" });
  });

  it("settles a final outcome in one save, so a handler that dies first leaves the send claim's wait", async () => {
    const crashed = await crashAfterSend();
    invocation(crashed, { status: "Success" });
    crashed.autoScalingMock
      .on(DescribeAutoScalingGroupsCommand)
      .rejects(awsServiceError("Throttling", "Rate exceeded"));
    // Still where the send claim's own round comes back to it; no second command chain was started.
    const version = await expectClaimUntouched(crashed, "Rate exceeded");
    groupTargetGroups(crashed);
    await onCommandFinished(crashed.deps, commandFinished("cmd-lost"));
    const record = crashed.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "awaiting-health", commandId: "cmd-lost", version: version + 1 });
    expect(record.history.map((entry) => entry.note)).toContain("adopted command cmd-lost");
  });

  it("leaves a command still running to the wait's own rounds: no adoption, no second chain", async () => {
    const crashed = await crashAfterSend();
    // The event says final; SSM's own read lags behind it.
    invocation(crashed, { status: "InProgress" });
    await expectClaimUntouched(crashed, "command not final yet");
  });

  it("is adopted by the command re-check scheduled before the crash, which carries the id", async () => {
    const crashed = await crashAfterSend();
    // Scheduled under the claim, whose version the store holds: nothing to wait for.
    const message = crashed.rechecks.last().message;
    expect(message).toEqual({
      step: "command",
      instanceId: INSTANCE_ID,
      token: TOKEN,
      commandId: "cmd-lost",
      forVersion: crashed.store.get(INSTANCE_ID).version,
    });
    invocation(crashed, { status: "InProgress" });
    await onCommandRecheck(crashed.deps, { kind: "recheck", ...message });
    expect(crashed.store.get(INSTANCE_ID)).toMatchObject({ phase: "bootstrapping", commandId: "cmd-lost" });
  });

  it("gives an adopted command the bootstrap's own deadline, not the agent wait's", async () => {
    const crashed = await crashAfterSend();
    // The agent came up late: its 600 s deadline has passed by the time the re-check adopts the command.
    crashed.advanceSeconds(700);
    invocation(crashed, { status: "InProgress" });
    await onCommandRecheck(crashed.deps, { kind: "recheck", ...crashed.rechecks.last().message });
    const record = crashed.store.get(INSTANCE_ID);
    expect(record).toMatchObject({ phase: "bootstrapping", commandId: "cmd-lost" });
    expect(record.phaseDeadline).toBe(crashed.now() + (1200 + 120) * 1000);
    expect(crashed.autoScalingMock).not.toHaveReceivedCommand(CompleteLifecycleActionCommand);
  });

  it("is not adopted when the comment names another wait", async () => {
    const crashed = await crashAfterSend();
    invocation(crashed, { status: "Success", comment: "launchgate launch another-token" });
    await expect(onCommandFinished(crashed.deps, commandFinished("cmd-lost"))).rejects.toThrow(
      "command is not the gate's current bootstrap",
    );
  });
});

describe("the command re-check (fallback and heartbeat)", () => {
  it("keeps watching a running command and records heartbeats", async () => {
    invocation(h, { status: "InProgress" });
    await onCommandRecheck(h.deps, recheck("command"));
    expect(h.autoScalingMock).toHaveReceivedCommand(RecordLifecycleActionHeartbeatCommand);
    expect(h.rechecks.last()).toEqual({
      message: recheckForStored(h, "command", { commandId: "cmd-1" }),
      delaySeconds: 180,
    });
  });

  it("settles a command whose status event was lost", async () => {
    invocation(h, { status: "Success" });
    await onCommandRecheck(h.deps, recheck("command"));
    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
  });

  it("abandons a bootstrap that overruns its execution timeout", async () => {
    invocation(h, { status: "InProgress" });
    h.advanceSeconds(1200 + 120);
    await onCommandRecheck(h.deps, recheck("command"));
    expect(h.store.get(INSTANCE_ID).reason).toMatch(
      /^bootstrap command cmd-1 did not finish within 1200 s \(status InProgress\)/,
    );
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
  });
});
