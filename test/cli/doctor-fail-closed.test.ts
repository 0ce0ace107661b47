import { SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { describe, expect, it } from "vitest";
import type { DoctorReport } from "../../cli/commands/doctor.js";
import { cliHarness, runCli } from "./cli-harness.js";
import { deployment, readmeLogsStatements, SSM_CORE, type Statement } from "./doctor-deployment.js";

/** Everything the default group's instance role needs, so every check can pass. */
const ALL_ALLOWED: readonly Statement[] = [
  SSM_CORE,
  ...readmeLogsStatements(),
  {
    Action: "ssm:GetParametersByPath",
    Resource: "arn:aws:ssm:eu-west-2:123456789012:parameter/cnt-backend/env",
  },
];
const LB_ZONES = ["eu-west-2a", "eu-west-2b"];

/** The checks that need AWS; `images` and (with no alarms configured) `remediation` read only the config. */
const AWS_CHECKS = [
  "hook",
  "rules",
  "target-groups",
  "zones",
  "health-check",
  "agents",
  "instance-profile",
  "secrets",
  "command-output",
];
const IAM_CHECKS = ["instance-profile", "secrets", "command-output"];

const NO_CREDENTIALS =
  "no AWS credentials found: set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run `aws sso login`";
const HEADER =
  /^launchgate: doctor fails closed: (\d+) of 11 checks did not run, so they vouch for nothing:$/;
const HINT =
  "launchgate: fix that and run doctor again, or pass --allow-unchecked to count checks that did not run as warnings";

/** A harness where every AWS call fails the same way (as the SDK fails with no credentials, or offline). */
function failingEverywhere(error: Error) {
  const harness = cliHarness();
  for (const mock of Object.values(harness.mocks)) mock.rejects(error);
  return harness;
}

const noCredentials = () =>
  failingEverywhere(
    Object.assign(new Error("Could not load credentials from any providers"), {
      name: "CredentialsProviderError",
    }),
  );

describe("launchgate doctor fails closed", () => {
  it("without credentials: exit 3, each check that did not run listed on stderr with why", async () => {
    const { code, stdout, stderr } = await runCli(["doctor"], noCredentials());

    expect(code).toBe(3);
    expect(stderr).toEqual([
      "launchgate: doctor fails closed: 9 of 11 checks did not run, so they vouch for nothing:",
      ...AWS_CHECKS.map((id) => `  cnt-backend-asg ${id}: ${NO_CREDENTIALS}`),
      HINT,
    ]);
    expect(stdout).toContain(`  ? hook             did not run: ${NO_CREDENTIALS}`);
    expect(stdout.filter((line) => line.startsWith("  ? "))).toHaveLength(AWS_CHECKS.length);
    expect(stdout.at(-1)).toBe("11 checks: 0 failed, 1 warnings, 9 did not run");
  });

  it("with AWS unreachable: the network error, explained, on each line", async () => {
    const offline = Object.assign(new Error("getaddrinfo ENOTFOUND autoscaling.eu-west-2.amazonaws.com"), {
      code: "ENOTFOUND",
    });
    const { code, stderr } = await runCli(["doctor"], failingEverywhere(offline));
    expect(code).toBe(3);
    expect(stderr[1]).toBe(
      "  cnt-backend-asg hook: cannot reach AWS (getaddrinfo ENOTFOUND autoscaling.eu-west-2.amazonaws.com): check the network and --region",
    );
    expect(stderr.slice(1, -1).every((line) => line.includes(": cannot reach AWS ("))).toBe(true);
  });

  it("--allow-unchecked restores the old rule: checks that did not run are warnings, exit 0", async () => {
    const { code, stdout, stderr } = await runCli(["doctor", "--allow-unchecked"], noCredentials());
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    expect(stdout).toContain(`  ? hook             did not run: ${NO_CREDENTIALS}`);
    expect(stdout.at(-1)).toBe(
      "11 checks: 0 failed, 1 warnings, 9 did not run (accepted: --allow-unchecked)",
    );
  });

  it("--allow-unchecked does not hide a failed check: exit 1", async () => {
    const harness = deployment(ALL_ALLOWED); // its group launches in eu-west-2c, which the ALB lacks
    harness.mocks.iam.on(SimulatePrincipalPolicyCommand).rejects(accessDenied());
    const { code, stderr } = await runCli(["doctor", "--allow-unchecked"], harness);
    expect(code).toBe(1);
    expect(stderr).toEqual([]);
  });

  it("a failed check outranks checks that did not run (exit 1), which are still listed", async () => {
    const harness = deployment(ALL_ALLOWED);
    harness.mocks.iam.on(SimulatePrincipalPolicyCommand).rejects(accessDenied());
    const { code, stdout, stderr } = await runCli(["doctor"], harness);
    expect(code).toBe(1);
    expect(stdout.filter((line) => line.startsWith("  ✗ "))).toEqual([
      expect.stringMatching(/^ {2}✗ zones /),
    ]);
    expect(stderr[0]).toMatch(HEADER);
    expect(stderr.slice(1, -1)).toEqual(IAM_CHECKS.map((id) => `  cnt-backend-asg ${id}: ${DENIED}`));
  });

  it("one permission doctor lacks: exactly the checks that needed it did not run, exit 3", async () => {
    const harness = deployment(ALL_ALLOWED, LB_ZONES);
    harness.mocks.iam.on(SimulatePrincipalPolicyCommand).rejects(accessDenied());
    const { code, stdout, stderr } = await runCli(["doctor"], harness);
    expect(code).toBe(3);
    expect(stdout.filter((line) => /^ {2}[✗?] /.test(line)).map((line) => line.split(/\s+/)[2])).toEqual(
      IAM_CHECKS,
    );
    expect(stderr).toEqual([
      "launchgate: doctor fails closed: 3 of 11 checks did not run, so they vouch for nothing:",
      ...IAM_CHECKS.map((id) => `  cnt-backend-asg ${id}: ${DENIED}`),
      HINT,
    ]);
  });

  it("every check ran and none failed: exit 0, nothing on stderr", async () => {
    const { code, stdout, stderr } = await runCli(["doctor"], deployment(ALL_ALLOWED, LB_ZONES));
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    // The default config's images (a :latest tag, Docker Hub) are a warning, not a failure.
    expect(stdout.at(-1)).toBe("11 checks: 0 failed, 1 warnings");
  });
});

describe("launchgate doctor --json", () => {
  it("carries each check's status and the exit code, as one document; the reasons also go to stderr", async () => {
    const { code, stdout, stderr } = await runCli(["doctor", "--json"], noCredentials());
    expect(code).toBe(3);
    expect(stdout).toHaveLength(1);
    const report = JSON.parse(stdout[0] ?? "") as DoctorReport;
    expect(report.exitCode).toBe(3);
    expect(report.allowUnchecked).toBe(false);
    expect(report.counts).toEqual({ passed: 1, warned: 1, failed: 0, unchecked: 9 });
    const checks = report.groups.flatMap((group) => group.results);
    expect(checks.find((check) => check.id === "hook")).toEqual({
      id: "hook",
      status: "unchecked",
      message: NO_CREDENTIALS,
    });
    expect(checks.filter((check) => check.status === "unchecked").map((check) => check.id)).toEqual(
      AWS_CHECKS,
    );
    expect(stderr[0]).toMatch(HEADER);
    expect(stderr).toHaveLength(AWS_CHECKS.length + 2);
  });

  it("with --allow-unchecked: exit code 0 in the document and for the process", async () => {
    const { code, stdout, stderr } = await runCli(["doctor", "--json", "--allow-unchecked"], noCredentials());
    expect(code).toBe(0);
    expect(stderr).toEqual([]);
    const report = JSON.parse(stdout[0] ?? "") as DoctorReport;
    expect(report).toMatchObject({ exitCode: 0, allowUnchecked: true, counts: { unchecked: 9 } });
  });

  it("statuses are passed, warned and failed when the checks run", async () => {
    const { code, stdout } = await runCli(["doctor", "--json"], deployment([SSM_CORE]));
    const report = JSON.parse(stdout[0] ?? "") as DoctorReport;
    const status = Object.fromEntries(
      report.groups[0]?.results.map((check) => [check.id, check.status]) ?? [],
    );
    expect(status).toMatchObject({
      hook: "passed",
      zones: "failed",
      secrets: "failed",
      "command-output": "warned",
      images: "warned",
    });
    expect(report.exitCode).toBe(1);
    expect(code).toBe(1);
  });
});

const DENIED =
  "permission denied: User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:SimulatePrincipalPolicy";

function accessDenied() {
  return Object.assign(
    new Error(
      "User: arn:aws:iam::123456789012:user/ops is not authorized to perform: iam:SimulatePrincipalPolicy",
    ),
    { name: "AccessDenied" },
  );
}
