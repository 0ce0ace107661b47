import { InvokeCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { cliHarness, runCli } from "./cli-harness.js";
import { A, B, OP, on, operation, payload } from "./rebootstrap-support.js";

const RESULT_A = {
  instanceId: A,
  outcome: "succeeded",
  seconds: 390,
  reason: "healthy in cnt-backend-tg",
} as const;
const RESULT_B = {
  instanceId: B,
  outcome: "failed",
  seconds: 600,
  reason: "not healthy in cnt-backend-tg",
} as const;
const PLAN = {
  dryRun: false,
  rebootstrap: [A, B],
  resumedLaunches: [],
  notEligible: [],
  operation: operation(),
};

/** The re-bootstrap function answering `answers` in turn (the last one from then on). */
function answering(...answers: unknown[]) {
  const harness = cliHarness();
  let stub = harness.mocks.lambda.on(InvokeCommand);
  for (const answer of answers.slice(0, -1)) stub = stub.resolvesOnce(payload(answer));
  stub.resolves(payload(answers.at(-1)));
  return harness;
}

/** The one thing a --json run may print: a JSON document. */
function onlyDocument(stdout: readonly string[]): Record<string, unknown> {
  expect(stdout).toHaveLength(1);
  return JSON.parse(stdout[0] ?? "") as Record<string, unknown>;
}

describe("launchgate rebootstrap --json", () => {
  it("start: the plan and the operation just started, as one document", async () => {
    const { code, stdout, stderr } = await runCli(
      ["rebootstrap", "--group", "cnt-backend-asg", "--all", "--json"],
      answering(PLAN),
    );
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    expect(onlyDocument(stdout)).toEqual(JSON.parse(JSON.stringify(PLAN)));
  });

  it("--wait: nothing while following, then the plan with the operation's final state", async () => {
    const running = operation({ ...on(A, "verifying", { startedAt: 0, targets: [] }) });
    const done = operation({
      status: "succeeded",
      index: 2,
      results: [RESULT_A, { ...RESULT_B, outcome: "succeeded" }],
    });
    const harness = answering(PLAN, { operation: running }, { operation: done });
    const { code, stdout } = await runCli(
      ["rebootstrap", "--group", "cnt-backend-asg", "--all", "--wait", "--json"],
      harness,
    );
    expect(code).toBe(0);
    const document = onlyDocument(stdout);
    expect(document.rebootstrap).toEqual([A, B]);
    expect(document.operation).toEqual(JSON.parse(JSON.stringify(done)));
    expect(harness.mocks.lambda).toHaveReceivedCommandTimes(InvokeCommand, 3);
  });

  it("--wait on an operation that fails: exit 1, and the document says why", async () => {
    const failed = operation({ status: "failed", index: 1, results: [RESULT_B] });
    const { code, stdout } = await runCli(
      ["rebootstrap", A, "--wait", "--json"],
      answering(PLAN, { operation: failed }),
    );
    expect(code).toBe(1);
    expect(onlyDocument(stdout).operation).toMatchObject({ status: "failed", results: [RESULT_B] });
  });

  it("--operation: follows it silently, then prints {operation}", async () => {
    const done = operation({ status: "succeeded", index: 2, results: [RESULT_A] });
    const harness = answering({ operation: operation() }, { operation: done });
    const { code, stdout } = await runCli(["rebootstrap", "--operation", OP, "--json"], harness);
    expect(code).toBe(0);
    expect(onlyDocument(stdout)).toEqual({ operation: JSON.parse(JSON.stringify(done)) });
  });

  it("--dry-run: what would happen, with no operation", async () => {
    const plan = {
      dryRun: true,
      rebootstrap: [A],
      resumedLaunches: [{ instanceId: B, detail: "would resume its launch gate" }],
      notEligible: [],
    };
    const { code, stdout } = await runCli(
      ["rebootstrap", "--group", "cnt-backend-asg", "--all", "--dry-run", "--json"],
      answering(plan),
    );
    expect(code).toBe(0);
    expect(onlyDocument(stdout)).toEqual({ ...plan, operation: null });
  });

  it("a refusal: nothing on stdout, the reason on stderr, exit 1", async () => {
    const harness = cliHarness();
    harness.mocks.lambda.on(InvokeCommand).resolves({
      FunctionError: "Unhandled",
      ...payload({ errorType: "InvalidInputError", errorMessage: `instance ${A} is terminating` }),
    });
    const { code, stdout, stderr } = await runCli(["rebootstrap", A, "--json"], harness);
    expect(code).toBe(1);
    expect(stdout).toEqual([]);
    expect(stderr).toEqual([`launchgate: refused: instance ${A} is terminating`]);
  });
});

describe("launchgate rebootstrap --operation, as text", () => {
  it("prints each result as it lands, and the outcome", async () => {
    const done = operation({
      status: "succeeded",
      index: 2,
      results: [RESULT_A, { ...RESULT_B, outcome: "succeeded", reason: "healthy in cnt-backend-tg" }],
    });
    const { code, stdout } = await runCli(
      ["rebootstrap", "--operation", OP],
      answering({ operation: operation() }, { operation: done }),
    );
    expect(code).toBe(0);
    expect(stdout).toEqual([
      `  … ${A} (1 of 2): starting (checks, lock, target groups)`,
      `  ${A} (1 of 2): succeeded after 390 s: healthy in cnt-backend-tg`,
      `  ${B} (2 of 2): succeeded after 600 s: healthy in cnt-backend-tg`,
      "operation succeeded",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  390 s  healthy in cnt-backend-tg`,
      `  ${B}  succeeded  600 s  healthy in cnt-backend-tg`,
    ]);
  });

  it("an operation that does not exist (or expired)", async () => {
    const { code, stderr } = await runCli(["rebootstrap", "--operation", OP], answering({ operation: null }));
    expect(code).toBe(1);
    expect(stderr).toEqual([`launchgate: no operation ${OP} (records expire after 30 days)`]);
  });
});
