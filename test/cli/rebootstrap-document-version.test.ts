import { InvokeCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { rebootstrapRequest } from "../../cli/commands/rebootstrap.js";
import { CliError } from "../../cli/errors.js";
import { GLOBAL_USAGE, usageOf } from "../../cli/usage.js";
import { parseRebootstrapRequest } from "../../shared/ops/rebootstrap-request.js";
import { cliHarness, runCli } from "./cli-harness.js";
import {
  A,
  answering,
  B,
  GROUP,
  OP,
  on,
  operation,
  payload,
  planWith,
  rejected,
  sentPayloads,
} from "./rebootstrap-support.js";

/** `launchgate rebootstrap --document-version V`: run an earlier bootstrap document version (a rollback). */

const EXPECTED =
  "expected $LATEST, $DEFAULT or a version number of the bootstrap document, such as 3 (aws ssm list-document-versions lists them)";
const refusal = (value: string, hint = "") =>
  `launchgate: --document-version "${value}" is not a document version: ${EXPECTED}${hint}`;

describe("--document-version is checked before any AWS client exists", () => {
  it.each([
    ["v3", " (the number alone: 3)"],
    ["V12", " (the number alone: 12)"],
    ["03", " (the number alone: 3)"],
    ["0", " (versions start at 1)"],
    ["000", " (versions start at 1)"],
    ["latest", " (with its dollar sign, in single quotes so the shell keeps it: '$LATEST')"],
    ["LATEST", " (with its dollar sign, in single quotes so the shell keeps it: '$LATEST')"],
    ["default", " (with its dollar sign, in single quotes so the shell keeps it: '$DEFAULT')"],
    ["$latest", " (written in capitals: '$LATEST')"],
    ["$Default", " (written in capitals: '$DEFAULT')"],
    [
      "",
      " (empty: the shell expands an unquoted or double-quoted $LATEST; write '$LATEST' in single quotes)",
    ],
    [
      A,
      " (that is an instance id: did the shell expand an unquoted $LATEST to nothing? write '$LATEST' in single quotes)",
    ],
    ["123456789", ""],
    ["3.0", ""],
    ["1e3", ""],
    [" 3", ""],
    ["$LATEST ", ""],
    ["$LATEST-1", ""],
    ["$PREVIOUS", ""],
  ])("%j is refused, exit 2, with what was expected", async (value, hint) => {
    expect(await rejected(["rebootstrap", A, `--document-version=${value}`])).toBe(refusal(value, hint));
  });

  it("an unquoted $LATEST the shell dropped, so the instance id became the version", async () => {
    expect(await rejected(["rebootstrap", "--document-version", A, "--surge", "--wait"])).toMatch(
      /^launchgate: --document-version "i-0aaaaaaaaaaaaaaa1" is not a document version: .*that is an instance id/,
    );
  });

  it("refused for a group too, and before the other checks of the request (--surge with --force)", async () => {
    expect(
      await rejected(["rebootstrap", "--group", GROUP, "--all", "--document-version", "v3", "--wait"]),
    ).toBe(refusal("v3", " (the number alone: 3)"));
    expect(await rejected(["rebootstrap", A, "--surge", "--force", "--document-version", "latest"])).toBe(
      refusal("latest", " (with its dollar sign, in single quotes so the shell keeps it: '$LATEST')"),
    );
  });

  it("without a value: Node's message, with the command's usage", async () => {
    expect(await rejected(["rebootstrap", A, "--document-version"])).toBe(
      `launchgate: Option '--document-version <value>' argument missing\n\n${usageOf("rebootstrap")}`,
    );
  });

  it.each([
    [["--document-version", "3"], "--document-version"],
    [["--document-version", "v3"], "--document-version"],
    [["--drain-seconds", "30", "--document-version", "$LATEST"], "--drain-seconds, --document-version"],
  ])("--operation follows an operation already started: %j would be ignored", async (extra, named) => {
    expect(await rejected(["rebootstrap", "--operation", OP, ...extra])).toBe(
      `launchgate: --operation follows an operation already started: drop ${named}`,
    );
  });

  it("status and doctor do not take it", async () => {
    expect(await rejected(["status", "--document-version", "3"])).toMatch(
      /^launchgate: status has no option --document-version\n\n/,
    );
    expect(await rejected(["doctor", "--document-version=3"])).toMatch(
      /^launchgate: doctor has no option --document-version\n\n/,
    );
  });

  it("the request builder refuses a bad one too (exit 2), for callers other than the command line", () => {
    const base = { instanceId: A, all: false, phase: "start", dryRun: false, wait: false } as const;
    for (const documentVersion of ["", "v3", "0", "$latest", "123456789"]) {
      let thrown: unknown;
      try {
        rebootstrapRequest({ ...base, documentVersion });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(CliError);
      expect((thrown as CliError).exitCode).toBe(2);
      expect((thrown as CliError).message).toMatch(/^--document-version ".*" is not a document version/);
    }
  });
});

describe("the version reaches the function's request only when given", () => {
  it.each(["$LATEST", "$DEFAULT", "1", "3", "10", "99999999"])(
    "rebootstrap --document-version %s --dry-run",
    async (documentVersion) => {
      const harness = answering(planWith(undefined, true));
      const { code, context } = await runCli(
        ["rebootstrap", A, "--document-version", documentVersion, "--dry-run"],
        harness,
      );
      expect(code).toBe(0);
      expect(context).toHaveBeenCalledOnce();
      const sent = sentPayloads(harness);
      expect(sent).toEqual([{ instanceId: A, phase: "start", dryRun: true, documentVersion }]);
      // What the function itself accepts: the CLI's check is not looser than the function's.
      expect(parseRebootstrapRequest(sent[0])).toMatchObject({ kind: "instance", documentVersion });
    },
  );

  it("not given: no documentVersion key at all (an older function would refuse it)", async () => {
    const harness = answering(planWith(undefined, true));
    await runCli(["rebootstrap", "--group", GROUP, "--all", "--dry-run"], harness);
    const [sent] = sentPayloads(harness);
    expect(sent).toEqual({ autoScalingGroupName: GROUP, all: true, phase: "start", dryRun: true });
    expect(sent).not.toHaveProperty("documentVersion");
  });

  it("with the other flags, for a group", async () => {
    const harness = answering(planWith(undefined, true));
    await runCli(
      [
        "rebootstrap",
        "--group",
        GROUP,
        "--all",
        "--surge",
        "--document-version=2",
        "--phase",
        "all",
        "--dry-run",
      ],
      harness,
    );
    expect(sentPayloads(harness)).toEqual([
      {
        autoScalingGroupName: GROUP,
        all: true,
        phase: "all",
        dryRun: true,
        surge: true,
        documentVersion: "2",
      },
    ]);
  });

  it("the dry run names the version it would run", async () => {
    const { stdout } = await runCli(
      ["rebootstrap", A, "--document-version", "3", "--dry-run"],
      answering(planWith(undefined, true)),
    );
    expect(stdout).toEqual([
      `dry run: would re-bootstrap ${A}, one at a time, each verified healthy before the next; bootstrap document version 3`,
    ]);
  });
});

describe("a rollback, followed", () => {
  const result = (instanceId: string, seconds: number) =>
    ({
      instanceId,
      outcome: "succeeded",
      seconds,
      reason: "re-bootstrapped; healthy in cnt-backend-tg",
    }) as const;
  const _current = (instanceId: string, more = {}) => ({ instanceId, startedAt: 0, targets: [], ...more });

  it("--group --all --document-version 1 --wait: the start line and the running step name the version", async () => {
    const v1 = { documentVersion: "1" };
    const harness = answering(
      planWith(operation(v1)),
      { operation: operation({ ...on(A, "draining", { drained: true }), ...v1 }) },
      {
        operation: operation({
          ...on(A, "running", { drained: true, drainCutShort: true, commandId: "cmd-a" }),
          ...v1,
        }),
      },
      {
        operation: operation({
          ...on(B, "running", { drained: true, commandId: "cmd-b" }),
          ...v1,
          results: [result(A, 300)],
        }),
      },
      {
        operation: operation({
          ...v1,
          status: "succeeded",
          index: 2,
          results: [result(A, 300), result(B, 290)],
        }),
      },
    );
    const { code, stdout } = await runCli(
      ["rebootstrap", "--group", GROUP, "--all", "--document-version", "1", "--wait"],
      harness,
    );
    expect(code).toBe(0);
    expect(stdout).toEqual([
      `operation ${OP}: re-bootstrapping ${A}, ${B} (phase start), one at a time; each drained out of its target groups first; bootstrap document version 1`,
      `  … ${A} (1 of 2): starting (checks, lock, target groups)`,
      `  … ${A} (1 of 2): draining: out of every target group, open requests finishing (up to the target group's deregistration delay)`,
      `  … ${A} (1 of 2): running: bootstrap command cmd-a, document version 1 (drain cut short at the requested limit)`,
      `  ${A} (1 of 2): succeeded after 300 s: re-bootstrapped; healthy in cnt-backend-tg`,
      `  … ${B} (2 of 2): running: bootstrap command cmd-b, document version 1`,
      `  ${B} (2 of 2): succeeded after 290 s: re-bootstrapped; healthy in cnt-backend-tg`,
      "operation succeeded",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  300 s  re-bootstrapped; healthy in cnt-backend-tg`,
      `  ${B}  succeeded  290 s  re-bootstrapped; healthy in cnt-backend-tg`,
    ]);
    // Sent once, with the start; following asks only for the operation's state.
    const [start, ...following] = sentPayloads(harness);
    expect(start).toEqual({
      autoScalingGroupName: GROUP,
      all: true,
      phase: "start",
      dryRun: false,
      documentVersion: "1",
    });
    expect(following).toHaveLength(4);
    for (const request of following) expect(request).toEqual({ operationId: OP });
  });

  it("the version shown is the one the operation records, also when followed with --operation", async () => {
    const running = operation({ ...on(A, "running", { commandId: "cmd-a" }), documentVersion: "$DEFAULT" });
    const done = operation({
      documentVersion: "$DEFAULT",
      status: "succeeded",
      index: 2,
      results: [result(A, 1), result(B, 2)],
    });
    const { code, stdout } = await runCli(
      ["rebootstrap", "--operation", OP],
      answering({ operation: running }, { operation: done }),
    );
    expect(code).toBe(0);
    expect(stdout[0]).toBe(`  … ${A} (1 of 2): running: bootstrap command cmd-a, document version $DEFAULT`);
  });

  it("an operation without one: no version on the running line (it runs $LATEST)", async () => {
    const running = operation({ ...on(A, "running", { commandId: "cmd-a" }) });
    const { stdout } = await runCli(
      ["rebootstrap", "--operation", OP],
      answering({ operation: running }, { operation: operation({ status: "succeeded", index: 2 }) }),
    );
    expect(stdout[0]).toBe(`  … ${A} (1 of 2): running: bootstrap command cmd-a`);
  });

  it("--json: the operation carries documentVersion as stored", async () => {
    const started = operation({ documentVersion: "3", instanceIds: [A] });
    const plan = planWith(started);
    const { code, stdout } = await runCli(
      ["rebootstrap", A, "--document-version", "3", "--json"],
      answering(plan),
    );
    expect(code).toBe(0);
    expect(stdout).toHaveLength(1);
    const document = JSON.parse(stdout[0] ?? "");
    expect(document).toEqual({ ...plan, operation: started });
    expect(document.operation.documentVersion).toBe("3");
  });
});

describe("a function deployed before --document-version", () => {
  const refusing = (errorMessage: string) => {
    const harness = cliHarness();
    harness.mocks.lambda.on(InvokeCommand).resolves({
      FunctionError: "Unhandled",
      ...payload({ errorType: "InvalidInputError", errorMessage }),
    });
    return harness;
  };

  it("refuses the key: the hint names the option, and says to deploy this version of the stack", async () => {
    const message = 'invalid re-bootstrap request: unknown key "documentVersion"';
    const { code, stdout, stderr } = await runCli(
      ["rebootstrap", A, "--document-version", "3"],
      refusing(message),
    );
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([
      `launchgate: refused: ${message} (the deployed re-bootstrap function predates --document-version, and runs $LATEST only: deploy this version of the stack)`,
    ]);
  });

  it("older still (no drain-first options either): the hint names them all, whichever key comes first", async () => {
    for (const keys of [
      '"documentVersion", "surge"',
      '"surge", "documentVersion"',
      '"drainSeconds", "documentVersion"',
    ]) {
      const message = `invalid re-bootstrap request: unknown key ${keys}`;
      const { stderr } = await runCli(
        ["rebootstrap", A, "--surge", "--document-version", "3"],
        refusing(message),
      );
      expect(stderr).toEqual([
        `launchgate: refused: ${message} (the deployed re-bootstrap function predates --surge, --force, --drain-seconds and --document-version: deploy this version of the stack)`,
      ]);
    }
  });

  it("another refusal that merely mentions documentVersion gets no such hint", async () => {
    const message =
      'invalid re-bootstrap request: documentVersion: got "v2"; allowed: $LATEST, $DEFAULT or a version number of the bootstrap document, such as 3';
    const { stderr } = await runCli(["rebootstrap", A, "--document-version", "2"], refusing(message));
    expect(stderr).toEqual([`launchgate: refused: ${message}`]);
  });
});

describe("the help explains it", () => {
  it("rebootstrap --help: the option, the rollback, and its example", async () => {
    const { stdout } = await runCli(["rebootstrap", "--help"]);
    const usage = stdout[0] ?? "";
    expect(usage).toBe(usageOf("rebootstrap"));
    expect(usage).toContain(
      "  --document-version V run version V of the bootstrap document: $LATEST (the default), $DEFAULT (the",
    );
    expect(usage).toContain("\nRolling back a bad deploy: ");
    expect(usage).toContain(
      "\n  launchgate rebootstrap --group cnt-backend-asg --all --document-version 3 --wait\n",
    );
    // Also among the examples, and among the usage errors.
    expect(usage.split("\nexamples:\n")[1]).toContain(
      "  launchgate rebootstrap --group cnt-backend-asg --all --document-version 3 --wait\n",
    );
    expect(usage.split("\nexit codes:\n")[1]).toContain("--document-version");
  });

  it("the global usage lists it with rebootstrap", () => {
    expect(GLOBAL_USAGE).toContain("[--drain-seconds N] [--document-version V] [--batch N|P%] [--dry-run]");
  });
});
