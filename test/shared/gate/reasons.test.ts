import { GetCommandInvocationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import { describe, expect, it } from "vitest";
import {
  type CommandInvocation,
  getInvocation,
  sendBootstrapCommand,
} from "../../../shared/gate/bootstrap-command.js";
import {
  bootstrapExecutionTimedOut,
  bootstrapFailed,
  bootstrapTimedOut,
  failedStep,
  lastStartedStep,
} from "../../../shared/gate/reasons.js";
import { gateHarness, INSTANCE_ID, RUNTIME_CONFIG } from "../../support/gate-harness.js";

/** The reasons an operator reads when a bootstrap did not succeed, from what GetCommandInvocation says. */

function invocation(overrides: Partial<CommandInvocation>): CommandInvocation {
  return {
    status: "Failed",
    statusDetails: "Failed",
    terminal: true,
    succeeded: false,
    stdout: "",
    stderr: "",
    comment: "",
    ...overrides,
  };
}

describe("timeouts say whether the command ever reached the instance (StatusDetails)", () => {
  it.each(["DeliveryTimedOut", "Delivery Timed Out"])("%s: never delivered, nothing ran", (details) => {
    expect(
      bootstrapExecutionTimedOut("cmd-1", 1200, invocation({ status: "TimedOut", statusDetails: details })),
    ).toBe(
      "bootstrap command cmd-1 was never delivered to the SSM agent within its delivery timeout of 300 s (StatusDetails DeliveryTimedOut); " +
        "nothing ran on the instance: its agent was offline or could not reach SSM (e.g. just after a warm-pool instance was started, or the route to the SSM endpoints broke)",
    );
  });

  it("ExecutionTimedOut: SSM killed the script (no FAILED line) in the step it announced last", () => {
    const reason = bootstrapExecutionTimedOut(
      "cmd-1",
      1200,
      invocation({
        status: "TimedOut",
        statusDetails: "ExecutionTimedOut",
        stdout: "launchgate: step install-docker\nlaunchgate: step pull-images\n",
      }),
    );
    expect(reason).toBe(
      "bootstrap command cmd-1 hit the document's execution timeout of 1200 s during step \"pull-images\": check the instance's network path to the image registry, or raise groups[].bootstrapTimeoutSeconds",
    );
  });

  it("ExecutionTimedOut: the step's own lines, and where the rest of the output is", () => {
    const reason = bootstrapExecutionTimedOut(
      "cmd-1",
      1200,
      invocation({
        status: "TimedOut",
        statusDetails: "ExecutionTimedOut",
        stdout: "launchgate: step prerequisites\nlaunchgate: installing the AWS CLI (snap aws-cli)\n",
        instanceId: "i-0abc",
        outputLogGroup: "/launchgate/stack/bootstrap-output",
      }),
    );
    expect(reason).toBe(
      'bootstrap command cmd-1 hit the document\'s execution timeout of 1200 s during step "prerequisites" ' +
        "(last output: launchgate: installing the AWS CLI (snap aws-cli)): check the instance's network path to the image registry, " +
        "or raise groups[].bootstrapTimeoutSeconds [full output in CloudWatch Logs group /launchgate/stack/bootstrap-output, " +
        "streams cmd-1/i-0abc/bootstrap/stdout and cmd-1/i-0abc/bootstrap/stderr]",
    );
  });

  it("ExecutionTimedOut with the script's own FAILED line names that step; no output at all says so", () => {
    expect(
      bootstrapExecutionTimedOut(
        "cmd-1",
        1200,
        invocation({
          status: "TimedOut",
          statusDetails: "ExecutionTimedOut",
          stdout: "launchgate: step lock\nlaunchgate: step pull-images\n",
          stderr: "launchgate: FAILED step pull-images (exit 1)\n",
        }),
      ),
    ).toMatch(
      /^bootstrap command cmd-1 hit the document's execution timeout of 1200 s in step "pull-images": /,
    );
    expect(
      bootstrapExecutionTimedOut(
        "cmd-1",
        1200,
        invocation({ status: "TimedOut", statusDetails: "ExecutionTimedOut" }),
      ),
    ).toMatch(/^bootstrap command cmd-1 hit the document's execution timeout of 1200 s: check/);
  });

  it("Undeliverable and Terminated, whichever status they come with", () => {
    expect(bootstrapFailed("cmd-1", invocation({ statusDetails: "Undeliverable" }))).toBe(
      "bootstrap command cmd-1 could not be delivered (StatusDetails Undeliverable); nothing ran: the instance may no longer exist, or its SSM agent is not responding",
    );
    expect(bootstrapExecutionTimedOut("cmd-1", 1200, invocation({ statusDetails: "Terminated" }))).toBe(
      "bootstrap command cmd-1 was terminated by SSM (StatusDetails Terminated: its parent command exceeded MaxErrors)",
    );
  });

  it.each(["InvalidPlatform", "Invalid Platform"])("%s: nothing ran, the AMI is not Linux", (details) => {
    expect(bootstrapFailed("cmd-1", invocation({ statusDetails: details }))).toBe(
      "bootstrap command cmd-1 was not run (StatusDetails InvalidPlatform): the instance's platform does not match the document's precondition (platformType Linux); nothing ran: the group's launch template needs a Linux AMI",
    );
  });

  it.each(["AccessDenied", "Access Denied"])(
    "%s: nothing ran, the sender may not reach the instance",
    (details) => {
      expect(bootstrapFailed("cmd-1", invocation({ statusDetails: details }))).toBe(
        "bootstrap command cmd-1 was not run (StatusDetails AccessDenied): the role that sent it may not run commands on this instance; nothing ran: check the launch and operations functions' ssm:SendCommand permission on the instance (its aws:autoscaling:groupName tag condition) and on the document",
      );
    },
  );

  it("our own deadline on a command SSM never delivered says so", () => {
    expect(bootstrapTimedOut("cmd-1", 1200, "Pending")).toBe(
      "bootstrap command cmd-1 did not finish within 1200 s (status Pending): it never started: SSM has not delivered it to the instance's agent, so check that the agent is Online and reaches the SSM endpoints",
    );
    expect(bootstrapTimedOut("cmd-1", 1200, "InProgress")).toMatch(
      /^bootstrap command cmd-1 did not finish within 1200 s \(status InProgress\): check the instance's network path/,
    );
  });
});

describe("a failure names its step even when SSM cut the output", () => {
  it("the last FAILED line wins; without one, the last step the script started", () => {
    const stdout = "launchgate: step lock\nlaunchgate: step install-docker\n";
    expect(failedStep(invocation({ stdout, stderr: "launchgate: FAILED step lock (exit 1)\n" }))).toBe(
      "lock",
    );
    expect(failedStep(invocation({ stdout }))).toBeUndefined();
    expect(lastStartedStep(invocation({ stdout }))).toBe("install-docker");
  });

  it("no FAILED line (both streams cut): the step in progress, the script's own lines, where the rest is", () => {
    const cut = `${"apt noise ".repeat(800).slice(0, 7980)}--output truncated--`;
    const reason = bootstrapFailed(
      "cmd-1",
      invocation({
        stdout:
          "launchgate: step install-docker\nlaunchgate: apt-get update: the package manager is locked\n",
        stderr: cut,
        instanceId: "i-0abc",
        outputLogGroup: "/launchgate/stack/bootstrap-output",
      }),
    );
    expect(reason).toBe(
      'bootstrap failed during step "install-docker" (command cmd-1, status Failed): launchgate: apt-get update: the package manager is locked ' +
        "[SSM kept only the first 8,000 characters of stderr; full output in CloudWatch Logs group /launchgate/stack/bootstrap-output, " +
        "streams cmd-1/i-0abc/bootstrap/stdout and cmd-1/i-0abc/bootstrap/stderr]",
    );
  });

  it("an uncut failure reads as before: the step and the stderr tail", () => {
    expect(
      bootstrapFailed(
        "cmd-1",
        invocation({
          stderr: "boom\nlaunchgate: FAILED step compose-up (exit 1)\n",
          stdout: "launchgate: step compose-up\n",
        }),
      ),
    ).toBe(
      'bootstrap step "compose-up" failed (command cmd-1, status Failed): boom launchgate: FAILED step compose-up (exit 1)',
    );
  });
});

describe("full command output goes to CloudWatch Logs", () => {
  it("SendCommand names the configured log group", async () => {
    const h = gateHarness({ ...RUNTIME_CONFIG, commandOutputLogGroup: "/launchgate/stack/bootstrap-output" });
    h.ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });

    await sendBootstrapCommand(h.deps, {
      documentName: "doc",
      instanceId: INSTANCE_ID,
      bootstrapPhase: "all",
      trigger: "launch",
      comment: "launchgate launch x",
    });

    expect(h.ssmMock).toHaveReceivedCommandWith(SendCommandCommand, {
      CloudWatchOutputConfig: {
        CloudWatchOutputEnabled: true,
        CloudWatchLogGroupName: "/launchgate/stack/bootstrap-output",
      },
    });
  });

  it("SendCommand without a log group (an older deployment) sends no output config", async () => {
    const h = gateHarness();
    h.ssmMock.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });

    await sendBootstrapCommand(h.deps, {
      documentName: "doc",
      instanceId: INSTANCE_ID,
      bootstrapPhase: "all",
      trigger: "launch",
      comment: "launchgate launch x",
    });

    expect(
      h.ssmMock.commandCalls(SendCommandCommand)[0]?.args[0].input.CloudWatchOutputConfig,
    ).toBeUndefined();
  });

  it("the invocation carries where its output went and its StatusDetails", async () => {
    const h = gateHarness();
    h.ssmMock.on(GetCommandInvocationCommand).resolves({
      Status: "TimedOut",
      StatusDetails: "DeliveryTimedOut",
      CloudWatchOutputConfig: { CloudWatchOutputEnabled: true, CloudWatchLogGroupName: "/g" },
    });

    expect(await getInvocation(h.deps, "cmd-1", INSTANCE_ID)).toMatchObject({
      status: "TimedOut",
      statusDetails: "DeliveryTimedOut",
      terminal: true,
      instanceId: INSTANCE_ID,
      outputLogGroup: "/g",
    });
  });
});
