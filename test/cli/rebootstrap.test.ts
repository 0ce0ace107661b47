import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { InvokeCommand } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { rebootstrap } from "../../cli/commands/rebootstrap.js";
import { createClients, stackOutputsReader } from "../../cli/context.js";
import { main } from "../../cli/main.js";
import { cliHarness } from "./cli-harness.js";
import { A, B, OP, on, operation, payload } from "./rebootstrap-support.js";

const sentPayloads = (mock: ReturnType<typeof cliHarness>["mocks"]["lambda"]) =>
  mock
    .commandCalls(InvokeCommand)
    .map((call) => JSON.parse(new TextDecoder().decode(call.args[0].input.Payload as Uint8Array)));

describe("launchgate rebootstrap", () => {
  it("invokes the function with the group request and follows the operation until done", async () => {
    const { ctx, mocks, printed, print } = cliHarness();
    const plan = {
      dryRun: false,
      rebootstrap: [A, B],
      resumedLaunches: [],
      notEligible: [],
      operation: operation({}),
    };
    const running = operation({ ...on(A, "verifying", { startedAt: 0, targets: [] }) });
    const firstDone = operation({
      ...on(B, "running", { startedAt: 0, targets: [] }),
      results: [
        {
          instanceId: A,
          outcome: "succeeded",
          seconds: 390,
          reason: "re-bootstrapped; healthy in cnt-backend-tg",
        },
      ],
    });
    const done = operation({
      status: "succeeded",
      index: 2,
      results: [
        ...firstDone.results,
        {
          instanceId: B,
          outcome: "succeeded",
          seconds: 385,
          reason: "re-bootstrapped; healthy in cnt-backend-tg",
        },
      ],
    });
    mocks.lambda
      .on(InvokeCommand)
      .resolvesOnce(payload(plan))
      .resolvesOnce(payload({ operation: running }))
      .resolvesOnce(payload({ operation: firstDone }))
      .resolves(payload({ operation: done }));

    const code = await rebootstrap(
      ctx,
      { group: "cnt-backend-asg", all: true, phase: "start", dryRun: false, wait: true },
      print,
      async () => {},
    );

    expect(code).toBe(0);
    expect(sentPayloads(mocks.lambda)[0]).toEqual({
      autoScalingGroupName: "cnt-backend-asg",
      all: true,
      phase: "start",
      dryRun: false,
    });
    expect(mocks.lambda).toHaveReceivedCommandWith(InvokeCommand, { FunctionName: "launchgate-rebootstrap" });
    expect(printed).toEqual([
      `operation ${OP}: re-bootstrapping ${A}, ${B} (phase start), one at a time; each drained out of its target groups first`,
      `  … ${A} (1 of 2): starting (checks, lock, target groups)`,
      `  … ${A} (1 of 2): verifying: waiting for healthy in every target group`,
      `  ${A} (1 of 2): succeeded after 390 s: re-bootstrapped; healthy in cnt-backend-tg`,
      `  … ${B} (2 of 2): running: bootstrap command`,
      `  ${B} (2 of 2): succeeded after 385 s: re-bootstrapped; healthy in cnt-backend-tg`,
      "operation succeeded",
      "  INSTANCE             OUTCOME    TIME   REASON",
      `  ${A}  succeeded  390 s  re-bootstrapped; healthy in cnt-backend-tg`,
      `  ${B}  succeeded  385 s  re-bootstrapped; healthy in cnt-backend-tg`,
    ]);
  });

  it("shows a refusal as the function's message, and exits 1", async () => {
    const { ctx, mocks } = cliHarness();
    mocks.lambda.on(InvokeCommand).resolves({
      FunctionError: "Unhandled",
      ...payload({
        errorType: "InvalidInputError",
        errorMessage: `instance ${A} belongs to payments-asg, which launchgate does not manage: refusing to run commands on it`,
      }),
    });
    const errors: string[] = [];
    const code = await main(
      ["rebootstrap", A],
      { print: () => {}, sleep: async () => {}, context: () => ctx },
      (line) => errors.push(line),
    );
    expect(code).toBe(1);
    expect(errors).toEqual([
      `launchgate: refused: instance ${A} belongs to payments-asg, which launchgate does not manage: refusing to run commands on it`,
    ]);
  });

  it("asks for --all before touching a whole group, without calling AWS", async () => {
    const { ctx, mocks } = cliHarness();
    const errors: string[] = [];
    const code = await main(
      ["rebootstrap", "--group", "cnt-backend-asg"],
      { print: () => {}, sleep: async () => {}, context: () => ctx },
      (l) => errors.push(l),
    );
    expect(code).toBe(2);
    expect(errors[0]).toBe(
      "launchgate: re-bootstrapping a whole group needs --all (launchgate rebootstrap --group cnt-backend-asg --all)",
    );
    expect(mocks.lambda).not.toHaveReceivedCommand(InvokeCommand);
  });

  it("prints a dry run's plan and changes nothing", async () => {
    const { ctx, mocks, printed, print } = cliHarness();
    mocks.lambda.on(InvokeCommand).resolves(
      payload({
        dryRun: true,
        rebootstrap: [A],
        resumedLaunches: [{ instanceId: B, detail: "would resume its launch gate" }],
        notEligible: [],
      }),
    );
    expect(
      await rebootstrap(
        ctx,
        { instanceId: A, all: false, phase: "all", dryRun: true, wait: false },
        print,
        async () => {},
      ),
    ).toBe(0);
    expect(printed).toEqual([
      `${B}: waiting at its launch hook; would resume its launch gate`,
      `dry run: would re-bootstrap ${A}, one at a time, each verified healthy before the next`,
    ]);
  });
});

describe("launchgate errors", () => {
  it("explains a stack that is not deployed in the region", async () => {
    const { mocks } = cliHarness();
    mocks.cloudFormation.on(DescribeStacksCommand).rejects(
      Object.assign(new Error("Stack with id launchgate-cnt-backend does not exist"), {
        name: "ValidationError",
      }),
    );
    const read = stackOutputsReader(createClients("eu-west-2"), "launchgate-cnt-backend", "eu-west-2");
    await expect(read()).rejects.toThrow(
      "stack launchgate-cnt-backend is not deployed in eu-west-2: deploy it (npx cdk deploy) or pass --stack / --region",
    );
  });

  it("explains denied permissions", async () => {
    const { ctx, mocks } = cliHarness();
    mocks.lambda
      .on(InvokeCommand)
      .rejects(
        Object.assign(
          new Error(
            "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: lambda:InvokeFunction",
          ),
          { name: "AccessDeniedException" },
        ),
      );
    const errors: string[] = [];
    expect(
      await main(["rebootstrap", A], { print: () => {}, sleep: async () => {}, context: () => ctx }, (l) =>
        errors.push(l),
      ),
    ).toBe(1);
    expect(errors[0]).toBe(
      "launchgate: permission denied: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: lambda:InvokeFunction",
    );
  });

  it("explains throttling that outlasted the SDK's retries", async () => {
    const { ctx, mocks } = cliHarness();
    mocks.lambda
      .on(InvokeCommand)
      .rejects(Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" }));
    const errors: string[] = [];
    await main(["rebootstrap", A], { print: () => {}, sleep: async () => {}, context: () => ctx }, (l) =>
      errors.push(l),
    );
    expect(errors[0]).toBe(
      "launchgate: AWS throttled the request even after retries (ThrottlingException): wait a minute and try again",
    );
  });

  it("rejects an unknown option with the usage, exit 2", async () => {
    const errors: string[] = [];
    expect(
      await main(["status", "--colour"], { print: () => {}, sleep: async () => {} }, (l) => errors.push(l)),
    ).toBe(2);
    expect(errors[0]).toMatch(/^launchgate: status has no option --colour\n\nusage: launchgate status /);
  });
});
