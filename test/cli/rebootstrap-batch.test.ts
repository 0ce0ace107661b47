import { describe, expect, it } from "vitest";
import { rebootstrapRequest } from "../../cli/commands/rebootstrap.js";
import { CliError } from "../../cli/errors.js";
import type { Lane, LaneStep, OperationRecord } from "../../shared/ops/operation.js";
import { runCli } from "./cli-harness.js";
import {
  A,
  answering,
  B,
  GROUP,
  OP,
  operation,
  planWith,
  refusing,
  rejected,
  sentPayloads,
} from "./rebootstrap-support.js";

/** `launchgate rebootstrap --group G --all --batch`: rollouts in waves. */

const C = "i-0ccccccccccccccc3";
const D = "i-0ddddddddddddddd4";

describe("--batch on the command line", () => {
  const EXPECTED =
    "expected a number of instances from 1 to 20, such as 2, or a percentage of the instances the rollout covers (1% to 100%, at most 20 instances), such as 25%";
  it.each(["0", "-1", "1.5", "0%", "101%", "25 %", "half", "", "1e3", "21", "020"])(
    "refuses --batch=%j",
    async (value) => {
      expect(await rejected(["rebootstrap", "--group", GROUP, "--all", `--batch=${value}`])).toBe(
        `launchgate: --batch "${value}" is not a batch size: ${EXPECTED}`,
      );
    },
  );

  it("refuses it for one instance: a batch is a rollout's", async () => {
    expect(await rejected(["rebootstrap", A, "--batch", "2"])).toBe(
      "launchgate: --batch is for a rollout over a group (--group GROUP --all), not one instance",
    );
    expect(() =>
      rebootstrapRequest({ instanceId: A, all: false, phase: "start", dryRun: false, wait: false, batch: 2 }),
    ).toThrow(CliError);
  });

  it.each([
    ["2", 2],
    ["25%", "25%"],
    ["100%", "100%"],
  ])("sends --batch %s as %j", async (value, batch) => {
    const harness = answering(planWith(undefined, true));
    const { code } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--batch", value, "--dry-run"],
      harness,
    );
    expect(code).toBe(0);
    expect(sentPayloads(harness)).toEqual([
      { autoScalingGroupName: GROUP, all: true, phase: "start", dryRun: true, batch },
    ]);
  });

  it("is not sent when not given (an older function would refuse the key)", async () => {
    const harness = answering(planWith(undefined, true));
    await runCli(["rebootstrap", "--group", GROUP, "--all", "--dry-run"], harness);
    expect(sentPayloads(harness)[0]).not.toHaveProperty("batch");
  });

  it("follows an operation already started: --operation takes no --batch", async () => {
    expect(await rejected(["rebootstrap", "--operation", OP, "--batch", "2"])).toBe(
      "launchgate: --operation follows an operation already started: drop --batch",
    );
  });
});

describe("following a rollout in waves", () => {
  const lane = (instanceId: string, step: LaneStep, commandId?: string): Lane => ({
    instanceId,
    step,
    current: { instanceId, startedAt: 0, targets: [], drained: true, ...(commandId ? { commandId } : {}) },
  });
  const rollout = (changes: Partial<OperationRecord>) =>
    operation({ instanceIds: [A, B, C, D], batchSize: 2, ...changes });
  const result = (instanceId: string, outcome: "succeeded" | "failed", reason: string) => ({
    instanceId,
    outcome,
    seconds: 300,
    reason,
  });

  it("says how many at a time, shows every instance of the wave, and ends with what ran where", async () => {
    const failedC = "bootstrap failed at pull (registered again: its health checks decide whether it serves)";
    const answers = [
      { ...planWith(rollout({})), batchSize: 2 },
      { operation: rollout({ index: 2, wave: [lane(A, "draining"), lane(B, "draining")] }) },
      {
        operation: rollout({ index: 2, wave: [lane(A, "verifying", "cmd-a"), lane(B, "running", "cmd-b")] }),
      },
      {
        operation: rollout({
          index: 4,
          wave: [lane(C, "running", "cmd-c"), lane(D, "running", "cmd-d")],
          results: [result(A, "succeeded", "re-bootstrapped"), result(B, "succeeded", "re-bootstrapped")],
        }),
      },
      {
        operation: rollout({
          index: 4,
          status: "failed",
          wave: [],
          results: [
            result(A, "succeeded", "re-bootstrapped"),
            result(B, "succeeded", "re-bootstrapped"),
            result(C, "failed", failedC),
            result(D, "succeeded", "re-bootstrapped"),
          ],
        }),
      },
    ];
    const { code, stdout } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--batch", "50%", "--wait"],
      answering(...answers),
    );
    expect(code).toBe(1);
    expect(stdout).toEqual([
      `operation ${OP}: re-bootstrapping ${A}, ${B}, ${C}, ${D} (phase start), 2 at a time; each drained out of its target groups first`,
      `  … ${A} (1 of 4): starting (checks, lock, target groups)`,
      `  … ${B} (2 of 4): starting (checks, lock, target groups)`,
      `  … ${A} (1 of 4): draining: out of every target group, open requests finishing (up to the target group's deregistration delay)`,
      `  … ${B} (2 of 4): draining: out of every target group, open requests finishing (up to the target group's deregistration delay)`,
      `  … ${A} (1 of 4): verifying: registered again; waiting for healthy in every target group`,
      `  … ${B} (2 of 4): running: bootstrap command cmd-b`,
      `  ${A} (1 of 4): succeeded after 300 s: re-bootstrapped`,
      `  ${B} (2 of 4): succeeded after 300 s: re-bootstrapped`,
      `  … ${C} (3 of 4): running: bootstrap command cmd-c`,
      `  … ${D} (4 of 4): running: bootstrap command cmd-d`,
      `  ${C} (3 of 4): failed after 300 s: ${failedC}`,
      `  ${D} (4 of 4): succeeded after 300 s: re-bootstrapped`,
      "operation failed",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  300 s  re-bootstrapped`,
      `  ${B}  succeeded  300 s  re-bootstrapped`,
      `  ${C}  failed     300 s  ${failedC}`,
      `  ${D}  succeeded  300 s  re-bootstrapped`,
    ]);
  });

  it("numbers each result by its instance's place, in whatever order the wave's instances end", async () => {
    const bFirst = rollout({
      index: 2,
      wave: [lane(A, "verifying", "cmd-a")],
      results: [result(B, "succeeded", "re-bootstrapped")],
    });
    const done = rollout({
      index: 4,
      status: "succeeded",
      results: [result(B, "succeeded", "re-bootstrapped"), result(A, "succeeded", "re-bootstrapped")],
    });
    const { stdout } = await runCli(
      ["rebootstrap", "--operation", OP],
      answering({ operation: bFirst }, { operation: done }),
    );
    expect(stdout.slice(0, 3)).toEqual([
      `  ${B} (2 of 4): succeeded after 300 s: re-bootstrapped`,
      `  … ${A} (1 of 4): verifying: registered again; waiting for healthy in every target group`,
      `  ${A} (1 of 4): succeeded after 300 s: re-bootstrapped`,
    ]);
  });

  it("the dry run says how many at a time", async () => {
    const plan = { ...planWith(undefined, true), rebootstrap: [A, B, C, D], batchSize: 2 };
    const { stdout } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--batch", "2", "--dry-run"],
      answering(plan),
    );
    expect(stdout).toEqual([
      `dry run: would re-bootstrap ${A}, ${B}, ${C}, ${D}, up to 2 at a time (never the last healthy target), each wave verified healthy before the next`,
    ]);
  });
});

describe("--batch with --surge, and functions that predate --batch", () => {
  it("refuses --surge with a batch of more than one on the command line", async () => {
    expect(await rejected(["rebootstrap", "--group", GROUP, "--all", "--surge", "--batch", "2"])).toBe(
      "launchgate: --surge adds one instance, so it keeps serving capacity only one instance at a time: drop --batch 2, or raise the group's desired capacity by 2 first and roll out with --batch 2 without --surge",
    );
  });

  it("names the options when the function refuses a percentage that comes to more than one with surge", async () => {
    const message =
      '"surge" adds one instance, so it keeps serving capacity only one instance at a time, and this batch is 2: use "surge" without "batch", or raise the group\'s desired capacity by 2 first and roll out in waves without "surge"';
    const { code, stderr } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--surge", "--batch", "50%"],
      refusing(message),
    );
    expect(code).toBe(1);
    expect(stderr).toEqual([
      `launchgate: refused: ${message} (on the command line: --surge without --batch, or --batch without --surge)`,
    ]);
  });

  it("says to deploy when the function predates --batch", async () => {
    const message = 'invalid re-bootstrap request: unknown key "batch"';
    const { stderr } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--batch", "2"],
      refusing(message),
    );
    expect(stderr).toEqual([
      `launchgate: refused: ${message} (the deployed re-bootstrap function predates --batch, and rolls out one instance at a time: deploy this version of the stack)`,
    ]);
  });
});
