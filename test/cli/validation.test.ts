import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { InvokeCommand, type InvokeCommandOutput } from "@aws-sdk/client-lambda";
import { describe, expect, it } from "vitest";
import { usageOf } from "../../cli/usage.js";
import { awsCalls, cliHarness, runCli } from "./cli-harness.js";

/** What every rejected command line must show: exit 2, nothing on stdout, no client made, no AWS call. */
async function rejected(argv: readonly string[]) {
  const result = await runCli(argv);
  expect(result.code).toBe(2);
  expect(result.stdout).toEqual([]);
  expect(result.stderr).toHaveLength(1);
  expect(result.context).not.toHaveBeenCalled();
  expect(awsCalls(result.mocks)).toEqual([]);
  return result.stderr[0] ?? "";
}

/** A harness whose re-bootstrap function answers a dry run, so an accepted command line reaches AWS. */
function dryRunHarness() {
  const harness = cliHarness();
  const plan = { dryRun: true, rebootstrap: [], resumedLaunches: [], notEligible: [] };
  harness.mocks.lambda.on(InvokeCommand).resolves({
    Payload: new TextEncoder().encode(JSON.stringify(plan)) as InvokeCommandOutput["Payload"],
    StatusCode: 200,
  });
  return harness;
}

const FORMAT = "expected i- followed by 8 or 17 lowercase hex digits, such as i-0123456789abcdef0";

describe("instance ids are checked before any AWS call", () => {
  it.each(["i-0123abcd", "i-0123456789abcdef0"])("%s is accepted and sent", async (instanceId) => {
    const harness = dryRunHarness();
    const { code, context } = await runCli(["rebootstrap", instanceId, "--dry-run"], harness);
    expect(code).toBe(0);
    expect(context).toHaveBeenCalledOnce();
    expect(harness.mocks.lambda).toHaveReceivedCommandTimes(InvokeCommand, 1);
  });

  it.each([
    ["i-0123456789ABCDEF0", `${FORMAT} (instance ids are lowercase: i-0123456789abcdef0)`],
    ["i-0123456789abcdef", `${FORMAT} (it has 16 hex digits)`],
    ["i-0123abc", `${FORMAT} (it has 7 hex digits)`],
    ["I-0123ABC", `${FORMAT} (it has 7 hex digits; instance ids are lowercase)`],
    ["i-0123456789abcdefg", FORMAT],
    ["0123456789abcdef0", `${FORMAT} (to re-bootstrap every instance of a group, use --group GROUP --all)`],
    ["cnt-backend-asg", `${FORMAT} (to re-bootstrap every instance of a group, use --group GROUP --all)`],
  ])("%s is refused, exit 2, with what was expected", async (instanceId, expected) => {
    expect(await rejected(["rebootstrap", instanceId])).toBe(
      `launchgate: "${instanceId}" is not an instance id: ${expected}`,
    );
  });
});

describe("--region is checked before any AWS call", () => {
  it.each([
    "eu-west-2",
    "us-gov-west-1",
    "ap-southeast-3",
    "cn-northwest-1",
    "us-isob-east-1",
    "eusc-de-east-1",
  ])("%s is accepted and becomes the clients' region", async (region) => {
    const harness = cliHarness();
    harness.mocks.autoScaling.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });
    const { code, context } = await runCli(["status", "--region", region], harness);
    expect(code).toBe(0);
    expect(context).toHaveBeenCalledOnce();
    expect(context.mock.calls[0]?.[0].region).toBe(region);
  });

  const EXPECTED = "expected a region name such as eu-west-2 or us-gov-west-1";
  it.each([
    ["eu-west-2a", `${EXPECTED} (that is an Availability Zone; its region is eu-west-2)`],
    ["EU-WEST-2", `${EXPECTED} (region names are lowercase: eu-west-2)`],
    ["euwest2", EXPECTED],
    ["eu-west", EXPECTED],
    ["london", EXPECTED],
    ["", EXPECTED],
    ["eu-west-2 ", EXPECTED],
  ])("%j is refused, exit 2, with what was expected", async (region, expected) => {
    expect(await rejected(["status", `--region=${region}`])).toBe(
      `launchgate: --region "${region}" is not an AWS region: ${expected}`,
    );
  });

  it.each([
    ["doctor", "--region", "eu-west-2b"],
    ["rebootstrap", "i-0123456789abcdef0", "--region", "eu-west-2b"],
    ["rebootstrap", "--operation", "0e25976b-0000-4000-8000-000000000001", "--region", "eu-west-2b"],
  ])("every command checks it: %s", async (...argv) => {
    expect(await rejected(argv)).toMatch(/^launchgate: --region "eu-west-2b" is not an AWS region: /);
  });
});

describe("each command accepts only its own options, and says so with its own usage", () => {
  it.each([
    ["status", "--group", "cnt-backend-asg"],
    ["status", "--allow-unchecked"],
    ["doctor", "--wait"],
    ["doctor", "--colour"],
    ["rebootstrap", "i-0123456789abcdef0", "--allow-unchecked"],
    ["rebootstrap", "i-0123456789abcdef0", "-x"],
  ])("%s %s", async (command, ...rest) => {
    const option = rest.find((arg) => arg.startsWith("-"));
    expect(await rejected([command, ...rest])).toBe(
      `launchgate: ${command} has no option ${option}\n\n${usageOf(command as "status")}`,
    );
  });

  it("a missing option value, with the command's usage", async () => {
    expect(await rejected(["doctor", "--region"])).toBe(
      `launchgate: Option '--region <value>' argument missing\n\n${usageOf("doctor")}`,
    );
  });

  it("extra arguments, with the command's usage", async () => {
    expect(await rejected(["status", "cnt-backend-asg", "other-asg"])).toBe(
      `launchgate: unexpected argument: other-asg\n\n${usageOf("status")}`,
    );
  });
});

describe("rebootstrap refuses a command line that names no target, or two", () => {
  it.each([
    [[], "give an instance id, or --group GROUP --all"],
    [
      ["i-0123456789abcdef0", "--group", "cnt-backend-asg", "--all"],
      "give an instance id or --group, not both",
    ],
    [["--all"], "--all goes with --group GROUP (it confirms re-bootstrapping a whole group)"],
    [["i-0123456789abcdef0", "--phase", "prepare"], '--phase must be start or all (got "prepare")'],
    [
      ["--operation", "0e25976b-0000-4000-8000-000000000001", "i-0123456789abcdef0", "--dry-run"],
      "--operation follows an operation already started: drop the instance id, --dry-run",
    ],
    [
      ["--operation", "op-1"],
      '--operation "op-1" is not an operation id: expected the 36-character id that `launchgate rebootstrap` printed, such as 0e25976b-1c2d-4e5f-8a9b-0c1d2e3f4a5b',
    ],
  ])("rebootstrap %j", async (rest, message) => {
    expect(await rejected(["rebootstrap", ...rest])).toBe(`launchgate: ${message}`);
  });
});

describe("names and files from the config are settled before any AWS call", () => {
  it.each([
    [["status", "payments-asg"]],
    [["doctor", "payments-asg"]],
    [["rebootstrap", "--group", "payments-asg", "--all"]],
  ])("an unknown group: %j", async (argv) => {
    expect(await rejected(argv)).toBe(
      'launchgate: unknown group "payments-asg": launchgate manages cnt-backend-asg',
    );
  });

  it("a config file that does not exist", async () => {
    expect(await rejected(["doctor", "--config", "/nonexistent/launchgate.json"])).toContain(
      "cannot read config file /nonexistent/launchgate.json",
    );
  });
});
