import { CompleteLifecycleActionCommand } from "@aws-sdk/client-auto-scaling";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHandler as createCommandResultHandler } from "../../functions/command-result/handler.js";
import { onAgentRecheck, startGate } from "../../shared/gate/start-gate.js";
import { log, logger } from "../../shared/logger.js";
import { asInvocation, instance, type RunResult, SECRETS } from "../bootstrap-script/instance.js";
import {
  agentPing,
  CNT_TARGET_GROUP,
  groupTargetGroups,
  hookAcceptsCompletion,
  invocation,
  lifecycleState,
  sendCommandReturns,
  targetHealth,
} from "../support/aws-stubs.js";
import { fixture, launchEvent, recheck } from "../support/events.js";
import { type GateHarness, gateHarness, INSTANCE_ID } from "../support/gate-harness.js";

/**
 * Secrets from Parameter Store, end to end: the real bootstrap document loads them on a stand-in
 * instance; its output, as SSM returns it, goes through the command-result handler with the real
 * logger. No log line, no gate record and no call to AWS may carry a secret — the reasons quote the
 * command's output, so this holds only if nothing upstream ever prints one.
 */

const COMMAND_ID = "8a1c2b3d-0000-4000-8000-00000000c0de";
let h: GateHarness;
let lines: string[];

beforeEach(() => {
  h = gateHarness();
  lines = [];
  // The logger writes JSON lines, errors to stderr and the rest to stdout: keep them, pass the rest on.
  for (const stream of [process.stdout, process.stderr]) {
    const write = stream.write.bind(stream);
    vi.spyOn(stream, "write").mockImplementation((chunk, ...rest) => {
      const text = String(chunk);
      if (!text.startsWith("{")) return write(chunk, ...(rest as []));
      lines.push(text);
      return true;
    });
  }
  logger.setLogLevel("DEBUG");
});

afterEach(() => {
  logger.setLogLevel("SILENT");
  vi.restoreAllMocks();
});

/** A gate with the real logger, waiting for the bootstrap command `COMMAND_ID`, which ends as `run` did. */
async function commandEnded(run: RunResult): Promise<void> {
  const deps = { ...h.deps, log };
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentPing(h, "Online");
  sendCommandReturns(h, COMMAND_ID);
  groupTargetGroups(h, [CNT_TARGET_GROUP]);
  targetHealth(h, "unused", "Target.NotRegistered");
  await startGate(deps, launchEvent());
  await onAgentRecheck(deps, recheck("agent"));
  const ssm = asInvocation(run);
  invocation(h, { status: ssm.status as "Success" | "Failed", stdout: ssm.stdout, stderr: ssm.stderr });
  const event = fixture("command-invocation-success");
  const detail = { ...(event.detail as object), status: ssm.status };
  await createCommandResultHandler(() => deps)({ ...event, detail });
}

function everythingCaptured(): string {
  return [
    ...lines,
    JSON.stringify(h.store.get(INSTANCE_ID)),
    JSON.stringify(h.autoScalingMock.calls().map((call) => call.args[0].input)),
    JSON.stringify(h.elbv2Mock.calls().map((call) => call.args[0].input)),
    JSON.stringify(h.ssmMock.calls().map((call) => call.args[0].input)),
    JSON.stringify(h.metrics),
  ].join("\n");
}

describe("a secret fed through the flow", () => {
  it("is in no log line, record or AWS call when writing it fails the bootstrap", async () => {
    const vm = instance();
    await vm.run();
    vm.scenario(
      "parameters.json",
      JSON.stringify([["/cnt-backend/env/TLS_KEY", `-----BEGIN KEY-----\n${SECRETS[0]}\n-----END KEY-----`]]),
    );
    const failed = await vm.run("start");
    expect(failed.code).not.toBe(0);

    await commandEnded(failed);

    // The flow really ran through the logger: the abandon is logged with the step that failed.
    expect(h.autoScalingMock).toHaveReceivedCommandWith(CompleteLifecycleActionCommand, {
      LifecycleActionResult: "ABANDON",
    });
    const abandoned = lines.find((line) => line.includes('"launch abandoned"'));
    expect(abandoned).toContain("write-env");
    for (const secret of SECRETS) expect(everythingCaptured()).not.toContain(secret);
  });

  it("is in no log line, record or AWS call when the bootstrap loads it and succeeds", async () => {
    const succeeded = await instance().run();
    expect(succeeded.code).toBe(0);

    await commandEnded(succeeded);

    expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-health");
    expect(lines.some((line) => line.includes('"bootstrap finished"'))).toBe(true);
    for (const secret of SECRETS) expect(everythingCaptured()).not.toContain(secret);
  });
});
