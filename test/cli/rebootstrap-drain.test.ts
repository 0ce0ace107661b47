import { InvokeCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { rebootstrapRequest } from "../../cli/commands/rebootstrap.js";
import { usageOf } from "../../cli/usage.js";
import { runCli } from "./cli-harness.js";
import {
  A,
  answering,
  B,
  GROUP,
  OP,
  on,
  operation,
  planWith,
  refusing,
  rejected,
  sentPayloads,
} from "./rebootstrap-support.js";

/** `launchgate rebootstrap` and drain-first: --surge, --force, --drain-seconds, and following the steps. */

describe("refused on the command line, before any AWS client exists", () => {
  const BOTH =
    "launchgate: --surge keeps serving (one more instance first) and --force accepts downtime: choose one";
  it.each([
    [[A, "--surge", "--force"]],
    [[A, "--force", "--surge", "--wait"]],
    [["--group", GROUP, "--all", "--surge", "--force"]],
    [["--group", GROUP, "--all", "--surge", "--force", "--dry-run", "--json"]],
    [[A, "--surge", "--force", "--drain-seconds", "30"]],
  ])("--surge with --force: rebootstrap %j", async (rest) => {
    expect(await rejected(["rebootstrap", ...rest])).toBe(BOTH);
  });

  const EXPECTED =
    "expected whole seconds from 0 to 3600, such as 120 (0: the command starts without waiting for open requests to finish)";
  it.each(["3601", "-1", "1.5", "1e3", "0x10", "ten", "", " 60", "60s", "99999"])(
    "--drain-seconds=%j",
    async (value) => {
      expect(await rejected(["rebootstrap", A, `--drain-seconds=${value}`])).toBe(
        `launchgate: --drain-seconds "${value}" is not a drain wait: ${EXPECTED}`,
      );
    },
  );

  it("--drain-seconds without a value, with the command's usage", async () => {
    expect(await rejected(["rebootstrap", A, "--drain-seconds"])).toBe(
      `launchgate: Option '--drain-seconds <value>' argument missing\n\n${usageOf("rebootstrap")}`,
    );
  });

  it("--drain-seconds followed by a negative number is not taken as its value", async () => {
    expect(await rejected(["rebootstrap", A, "--drain-seconds", "-1"])).toMatch(
      /^launchgate: Option '--drain-seconds' argument is ambiguous\. .*\n\nusage: launchgate rebootstrap /,
    );
  });

  it("a bad --drain-seconds is refused even for a group, and with a bad value and --surge --force", async () => {
    expect(await rejected(["rebootstrap", "--group", GROUP, "--all", "--drain-seconds", "4000"])).toMatch(
      /^launchgate: --drain-seconds "4000" is not a drain wait/,
    );
    expect(await rejected(["rebootstrap", A, "--surge", "--force", "--drain-seconds", "4000"])).toMatch(
      /^launchgate: --drain-seconds "4000" is not a drain wait/,
    );
  });

  it.each([
    [["--surge"], "--surge"],
    [["--force"], "--force"],
    [["--drain-seconds", "30"], "--drain-seconds"],
    [["--surge", "--drain-seconds", "30"], "--surge, --drain-seconds"],
  ])("--operation follows an operation already started: %j would be ignored", async (extra, named) => {
    expect(await rejected(["rebootstrap", "--operation", OP, ...extra])).toBe(
      `launchgate: --operation follows an operation already started: drop ${named}`,
    );
  });

  it("status and doctor do not take them", async () => {
    expect(await rejected(["status", "--surge"])).toMatch(/^launchgate: status has no option --surge\n\n/);
    expect(await rejected(["doctor", "--force"])).toMatch(/^launchgate: doctor has no option --force\n\n/);
  });

  it("the request builder refuses them too, for callers other than the command line", () => {
    const base = { instanceId: A, all: false, phase: "start", dryRun: false, wait: false } as const;
    expect(() => rebootstrapRequest({ ...base, surge: true, force: true })).toThrow("choose one");
    for (const drainSeconds of [-1, 1.5, 3601, Number.NaN])
      expect(() => rebootstrapRequest({ ...base, drainSeconds })).toThrow(
        `--drain-seconds must be whole seconds from 0 to 3600 (got ${drainSeconds})`,
      );
  });
});

describe("the flags reach the function's request", () => {
  const dryRun = () => answering(planWith(undefined, true));

  it.each([
    [[A], { instanceId: A, phase: "start", dryRun: true }],
    [[A, "--surge"], { instanceId: A, phase: "start", dryRun: true, surge: true }],
    [[A, "--force"], { instanceId: A, phase: "start", dryRun: true, force: true }],
    [[A, "--drain-seconds", "0"], { instanceId: A, phase: "start", dryRun: true, drainSeconds: 0 }],
    [[A, "--drain-seconds=3600"], { instanceId: A, phase: "start", dryRun: true, drainSeconds: 3600 }],
    [
      [A, "--force", "--drain-seconds", "045", "--phase", "all"],
      { instanceId: A, phase: "all", dryRun: true, force: true, drainSeconds: 45 },
    ],
    [
      ["--group", GROUP, "--all", "--surge", "--drain-seconds", "120"],
      {
        autoScalingGroupName: GROUP,
        all: true,
        phase: "start",
        dryRun: true,
        surge: true,
        drainSeconds: 120,
      },
    ],
  ])("rebootstrap %j --dry-run", async (rest, request) => {
    const harness = dryRun();
    const { code, context } = await runCli(["rebootstrap", ...rest, "--dry-run"], harness);
    expect(code).toBe(0);
    expect(context).toHaveBeenCalledOnce();
    // Exactly these fields: a flag not given is not sent (an older function would refuse the key).
    expect(sentPayloads(harness)).toEqual([request]);
    expect(harness.mocks.lambda).toHaveReceivedCommandWith(InvokeCommand, {
      FunctionName: "launchgate-rebootstrap",
    });
  });

  it("--surge --wait: sent once with the flag; following asks only for the operation's state", async () => {
    const surging = operation({ step: "surging", surge: {} });
    const done = operation({
      status: "succeeded",
      index: 2,
      surge: { originalDesired: 2, restored: true },
      results: [
        { instanceId: A, outcome: "succeeded", seconds: 300, reason: "healthy in cnt-backend-tg" },
        { instanceId: B, outcome: "succeeded", seconds: 310, reason: "healthy in cnt-backend-tg" },
      ],
    });
    const harness = answering(planWith(surging), { operation: done });
    const { code } = await runCli(["rebootstrap", "--group", GROUP, "--all", "--surge", "--wait"], harness);
    expect(code).toBe(0);
    expect(sentPayloads(harness)).toEqual([
      { autoScalingGroupName: GROUP, all: true, phase: "start", dryRun: false, surge: true },
      { operationId: OP },
    ]);
  });

  it("the dry run says how it would keep serving", async () => {
    const { stdout } = await runCli(["rebootstrap", A, "--surge", "--dry-run"], dryRun());
    expect(stdout).toEqual([
      `dry run: would re-bootstrap ${A}, one at a time, each verified healthy before the next; surge: the group scales out by one first, and back at the end`,
    ]);
    const forced = await runCli(
      ["rebootstrap", A, "--force", "--drain-seconds", "30", "--dry-run"],
      dryRun(),
    );
    expect(forced.stdout).toEqual([
      `dry run: would re-bootstrap ${A}, one at a time, each verified healthy before the next; force: the last healthy target may be drained (downtime accepted); draining waits at most 30 s`,
    ]);
  });
});

describe("refusals from the function name the options that answer them", () => {
  it("the last healthy target: --surge or --force", async () => {
    const message = `${A} is the last healthy target of cnt-backend-tg: draining it for its re-bootstrap would leave cnt-backend-tg serving nothing. Add "surge": true (one more instance first, then back to the current size) or "force": true (accept the downtime)`;
    const { code, stdout, stderr } = await runCli(["rebootstrap", A], refusing(message));
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`launchgate: refused: ${message} (on the command line: --surge or --force)`]);
  });

  it("a function deployed before these options: deploy the stack", async () => {
    const message = 'invalid re-bootstrap request: unknown key "surge"';
    const { code, stderr } = await runCli(["rebootstrap", A, "--surge"], refusing(message));
    expect(code).toBe(1);
    expect(stderr).toEqual([
      `launchgate: refused: ${message} (the deployed re-bootstrap function predates --surge, --force, --drain-seconds and --document-version: deploy this version of the stack)`,
    ]);
  });
});

describe("following a drain-first operation", () => {
  const result = (instanceId: string, seconds: number) =>
    ({
      instanceId,
      outcome: "succeeded",
      seconds,
      reason: "re-bootstrapped; healthy in cnt-backend-tg",
    }) as const;

  it("shows each step per instance — surging, draining, running, verifying — then a table", async () => {
    const started = operation({ step: "surging", surge: {}, drainSeconds: 120 });
    const _current = (instanceId: string, more = {}) => ({ instanceId, startedAt: 0, targets: [], ...more });
    const surge = { originalDesired: 1, deadline: 1 };
    const answers = [
      planWith(started),
      { operation: operation({ step: "surging", surge, drainSeconds: 120 }) },
      { operation: operation({ step: "surging", surge, drainSeconds: 120 }) },
      { operation: operation({ surge, drainSeconds: 120 }) },
      {
        operation: operation({ ...on(A, "draining", { drained: true }), surge, drainSeconds: 120 }),
      },
      {
        operation: operation({
          ...on(A, "running", { drained: true, drainCutShort: true, commandId: "cmd-a" }),
          surge,
          drainSeconds: 120,
        }),
      },
      {
        operation: operation({
          ...on(A, "verifying", { drained: true, commandId: "cmd-a" }),
          surge,
          drainSeconds: 120,
        }),
      },
      {
        operation: operation({
          ...on(B, "draining", { drained: true }),
          surge,
          drainSeconds: 120,
          results: [result(A, 400)],
        }),
      },
      {
        operation: operation({
          status: "succeeded",
          index: 2,
          surge: { ...surge, restored: true },
          drainSeconds: 120,
          results: [result(A, 400), result(B, 380)],
        }),
      },
    ];
    const { code, stdout } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--surge", "--drain-seconds", "120", "--wait"],
      answering(...answers),
    );
    expect(code).toBe(0);
    expect(stdout).toEqual([
      `operation ${OP}: re-bootstrapping ${A}, ${B} (phase start), one at a time; each drained out of its target groups first; surge: the group scales out by one first, and back at the end; draining waits at most 120 s`,
      `  … surging: scaling ${GROUP} out by one before touching any instance`,
      `  … surging: ${GROUP} scaled out by one (desired 1 → 2); waiting for the new instance to pass its launch gate and serve`,
      `  … ${A} (1 of 2): starting (checks, lock, target groups)`,
      `  … ${A} (1 of 2): draining: out of every target group, open requests finishing (at most 120 s)`,
      `  … ${A} (1 of 2): running: bootstrap command cmd-a (drain cut short at the requested limit)`,
      `  … ${A} (1 of 2): verifying: registered again; waiting for healthy in every target group`,
      `  ${A} (1 of 2): succeeded after 400 s: re-bootstrapped; healthy in cnt-backend-tg`,
      `  … ${B} (2 of 2): draining: out of every target group, open requests finishing (at most 120 s)`,
      `  ${B} (2 of 2): succeeded after 380 s: re-bootstrapped; healthy in cnt-backend-tg`,
      "operation succeeded",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  400 s  re-bootstrapped; healthy in cnt-backend-tg`,
      `  ${B}  succeeded  380 s  re-bootstrapped; healthy in cnt-backend-tg`,
      `surge undone: ${GROUP} desired capacity back to 1`,
    ]);
  });

  it("a surge refused at the group's maximum size: the operation's failure, and nothing touched", async () => {
    const failure = `surge refused: ${GROUP} is at its maximum size (1); raise MaxSize by one, or use force to accept downtime`;
    const failed = operation({ step: "surging", status: "failed", surge: {}, failure, instanceIds: [A] });
    const { code, stdout } = await runCli(
      ["rebootstrap", A, "--surge", "--wait"],
      answering(planWith(operation({ step: "surging", surge: {}, instanceIds: [A] })), { operation: failed }),
    );
    expect(code).toBe(1);
    expect(stdout).toEqual([
      `operation ${OP}: re-bootstrapping ${A} (phase start), one at a time; each drained out of its target groups first; surge: the group scales out by one first, and back at the end`,
      `  … surging: scaling ${GROUP} out by one before touching any instance`,
      `operation failed: ${failure}`,
      "  INSTANCE             OUTCOME      TIME  REASON",
      `  ${A}  not started        the operation stopped before it: not touched`,
    ]);
  });

  it("a failed instance stops the rest: its reason, and the instances never reached", async () => {
    const reason =
      "bootstrap failed at compose-up (registered again: its health checks decide whether it serves)";
    const failed = operation({
      status: "failed",
      index: 1,
      force: true,
      results: [{ instanceId: A, outcome: "failed", seconds: 95, reason }],
    });
    const { code, stdout } = await runCli(
      ["rebootstrap", "--operation", OP],
      answering({ operation: operation({ force: true }) }, { operation: failed }),
    );
    expect(code).toBe(1);
    expect(stdout).toEqual([
      `  … ${A} (1 of 2): starting (checks, lock, target groups)`,
      `  ${A} (1 of 2): failed after 95 s: ${reason}`,
      "operation failed",
      "  INSTANCE             OUTCOME      TIME  REASON",
      `  ${A}  failed       95 s  ${reason}`,
      `  ${B}  not started        the operation stopped before it: not touched`,
    ]);
  });

  it("an operation already finished when asked about: the table alone, each result once", async () => {
    const done = operation({ status: "succeeded", index: 2, results: [result(A, 400), result(B, 380)] });
    const { code, stdout } = await runCli(["rebootstrap", "--operation", OP], answering({ operation: done }));
    expect(code).toBe(0);
    expect(stdout).toEqual([
      "operation succeeded",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  400 s  re-bootstrapped; healthy in cnt-backend-tg`,
      `  ${B}  succeeded  380 s  re-bootstrapped; healthy in cnt-backend-tg`,
    ]);
  });

  it("--json: one document, with the step, the surge and the operation's failure", async () => {
    const failure = `surge refused: ${GROUP} is at its maximum size (1); raise MaxSize by one, or use force to accept downtime`;
    const failed = operation({ step: "surging", status: "failed", surge: {}, failure, instanceIds: [A] });
    const plan = planWith(operation({ step: "surging", surge: {}, instanceIds: [A] }));
    const { code, stdout } = await runCli(
      ["rebootstrap", A, "--surge", "--wait", "--json"],
      answering(plan, { operation: failed }),
    );
    expect(code).toBe(1);
    expect(stdout).toHaveLength(1);
    expect(JSON.parse(stdout[0] ?? "")).toEqual({ ...plan, operation: failed });
  });
});
