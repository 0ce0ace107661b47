import { readFileSync } from "node:fs";
import { join } from "node:path";
import { App, Stack } from "aws-cdk-lib";
import { Template } from "aws-cdk-lib/assertions";
import * as iam from "aws-cdk-lib/aws-iam";
import { describe, expect, it } from "vitest";
import { SSM_AGENT_ACTIONS, ssmAgentPolicyStatements } from "../../infra/index.js";
import { ROOT } from "../../scripts/functions.js";

/**
 * The actions AmazonSSMManagedInstanceCore allows, all on `*` (docs/aws-facts.md, "What
 * AmazonSSMManagedInstanceCore allows").
 */
const MANAGED_POLICY_ACTIONS = [
  "ssm:DescribeAssociation",
  "ssm:GetDeployablePatchSnapshotForInstance",
  "ssm:GetDocument",
  "ssm:DescribeDocument",
  "ssm:GetManifest",
  "ssm:GetParameter",
  "ssm:GetParameters",
  "ssm:ListAssociations",
  "ssm:ListInstanceAssociations",
  "ssm:PutInventory",
  "ssm:PutComplianceItems",
  "ssm:PutConfigurePackageResult",
  "ssm:UpdateAssociationStatus",
  "ssm:UpdateInstanceAssociationStatus",
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ssmmessages:CreateDataChannel",
  "ssmmessages:OpenControlChannel",
  "ssmmessages:OpenDataChannel",
  "ec2messages:AcknowledgeMessage",
  "ec2messages:DeleteMessage",
  "ec2messages:FailMessage",
  "ec2messages:GetEndpoint",
  "ec2messages:GetMessages",
  "ec2messages:SendReply",
];

/** What `launchgate doctor` simulates against the instance role (cli/commands/doctor-checks.ts). */
const DOCTOR_SIMULATED = [
  "ssm:UpdateInstanceInformation",
  "ssmmessages:CreateControlChannel",
  "ec2messages:GetMessages",
];

interface StatementJson {
  Sid: string;
  Effect: string;
  Action: string[];
  Resource: string;
}

const json = () =>
  ssmAgentPolicyStatements().map((statement) => statement.toStatementJson() as StatementJson);

describe("ssmAgentPolicyStatements", () => {
  it("gives three Allow statements on * with their Sids, one per service", () => {
    const statements = json();
    expect(statements.map(({ Sid }) => Sid)).toEqual(["SsmAgent", "SsmAgentChannels", "SsmAgentMessages"]);
    for (const statement of statements) {
      expect(statement.Effect).toBe("Allow");
      expect(statement.Resource).toBe("*");
      expect(Object.keys(statement).sort()).toEqual(["Action", "Effect", "Resource", "Sid"]);
    }
    expect(statements.map(({ Action }) => Action)).toEqual([
      [...SSM_AGENT_ACTIONS.ssm],
      [...SSM_AGENT_ACTIONS.ssmmessages],
      [...SSM_AGENT_ACTIONS.ec2messages],
    ]);
    const prefixes = ["ssm:", "ssmmessages:", "ec2messages:"];
    statements.forEach((statement, i) => {
      for (const action of statement.Action) expect(action.startsWith(prefixes[i] ?? "?")).toBe(true);
    });
  });

  it("is AmazonSSMManagedInstanceCore without its parameter reads", () => {
    const actions = json().flatMap(({ Action }) => Action);
    expect(actions.filter((action) => /^ssm:GetParameter/.test(action))).toEqual([]);
    expect(actions.some((action) => action.includes("*"))).toBe(false);
    expect(new Set(actions).size).toBe(actions.length);
    expect(actions.sort()).toEqual(
      MANAGED_POLICY_ACTIONS.filter((a) => a !== "ssm:GetParameter" && a !== "ssm:GetParameters").sort(),
    );
    // The doctor's instance-profile check passes on a role holding only these statements.
    for (const action of DOCTOR_SIMULATED) expect(actions).toContain(action);
  });

  it("returns new statements on each call", () => {
    const [first] = ssmAgentPolicyStatements();
    first?.addActions("ssm:GetParameter");
    expect(json()[0]?.Action).not.toContain("ssm:GetParameter");
  });

  it("lands in a role's policy unmerged, with no managed policy", () => {
    const app = new App({ builtinCloudFormationValidation: false });
    const stack = new Stack(app, "Consumer", { env: { region: "eu-west-1" } });
    const role = new iam.Role(stack, "InstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
    });
    for (const statement of ssmAgentPolicyStatements()) role.addToPrincipalPolicy(statement);
    const template = Template.fromStack(stack);
    const [roleResource] = Object.values(template.findResources("AWS::IAM::Role"));
    expect(roleResource?.Properties.ManagedPolicyArns).toBeUndefined();
    const [policy] = Object.values(template.findResources("AWS::IAM::Policy"));
    expect(policy?.Properties.PolicyDocument.Statement).toEqual(json());
  });
});

describe("docs/deploy.md's instance profile policy", () => {
  it("gives the SSM agent the helper's statements", () => {
    const doc = readFileSync(join(ROOT, "docs", "deploy.md"), "utf8");
    const section = doc.slice(doc.indexOf("## 3. The instance profile"));
    const block = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    if (!block) throw new Error("docs/deploy.md: no policy under '3. The instance profile'");
    const { Statement } = JSON.parse(block) as { Statement: StatementJson[] };
    expect(Statement.filter(({ Sid }) => Sid.startsWith("SsmAgent"))).toEqual(json());
    const actions = Statement.flatMap(({ Action }) => Action);
    expect(actions.filter((action) => /^ssm:GetParameters?$/.test(action))).toEqual([]);
  });
});
