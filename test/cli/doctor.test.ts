import { SimulatePrincipalPolicyCommand } from "@aws-sdk/client-iam";
import { describe, expect, it } from "vitest";
import { diagnose, renderDiagnosis } from "../../cli/commands/doctor.js";
import {
  agentsCheck,
  CHECKS,
  COMMAND_OUTPUT_ACTIONS,
  commandOutputCheck,
  type DoctorFacts,
  healthTimingCheck,
  hookCheck,
  imagesCheck,
  instanceProfileCheck,
  remediationCheck,
  rulesCheck,
  secretsCheck,
  targetGroupsCheck,
  zonesCheck,
} from "../../cli/commands/doctor-checks.js";
import { ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import { deployment, ROLE, readmeLogsStatements, SSM_CORE, type Statement } from "./doctor-deployment.js";

const group = parseConfig({}).groups[0] as DoctorFacts["group"];
/** The default group with images a careful deployment would use: pinned, and from ECR. */
const pinnedGroup: DoctorFacts["group"] = {
  ...group,
  app: {
    ...group.app,
    services: group.app.services.map((service) => ({
      ...service,
      image: `${ECR_REGISTRY_PLACEHOLDER}/${service.name}:v1.8.4`,
    })),
  },
};
const LOG_GROUP = "/launchgate/launchgate-cnt-backend/bootstrap-output";

/** Facts of a deployment where every check passes. */
function healthyFacts(): DoctorFacts {
  return {
    group: pinnedGroup,
    region: "eu-west-2",
    commandOutputLogGroup: LOG_GROUP,
    hooks: {
      value: [
        {
          name: "launchgate-launch",
          transition: "autoscaling:EC2_INSTANCE_LAUNCHING",
          defaultResult: "ABANDON",
          heartbeatTimeout: 600,
        },
      ],
    },
    groupZones: { value: ["eu-west-2a", "eu-west-2b"] },
    instances: { value: [{ id: "i-0aaaaaaaaaaaaaaa1", lifecycle: "InService" }] },
    targetGroups: {
      value: [
        {
          name: "cnt-backend-tg",
          targetType: "instance",
          loadBalancerArns: ["lb"],
          intervalSeconds: 30,
          healthyThreshold: 5,
          timeoutSeconds: 5,
          path: "/health",
          matcher: "200",
        },
      ],
    },
    loadBalancers: { value: [{ arn: "lb", name: "cnt-alb", zones: ["eu-west-2a", "eu-west-2b"] }] },
    rules: { value: [{ name: "launchgate-rule-1", state: "ENABLED" }] },
    agentsOnline: { value: ["i-0aaaaaaaaaaaaaaa1"] },
    alarms: { value: [] },
    instanceRole: {
      value: {
        roleArn: ROLE,
        allowed: {
          "ssm:UpdateInstanceInformation": true,
          "ssmmessages:CreateControlChannel": true,
          "ec2messages:GetMessages": true,
          "ssm:GetParametersByPath": true,
          "logs:CreateLogGroup": true,
          "logs:DescribeLogGroups": true,
          "logs:CreateLogStream": true,
          "logs:DescribeLogStreams": true,
          "logs:PutLogEvents": true,
        },
      },
    },
  };
}

describe("doctor checks pass on a healthy deployment", () => {
  it.each(CHECKS.map((check) => [check.name, check]))("%s", (_name, check) => {
    expect(check(healthyFacts()).status).toBe("passed");
  });
});

describe("doctor checks fail with what to change", () => {
  it("hook: missing, or the default result is not ABANDON", () => {
    expect(hookCheck({ ...healthyFacts(), hooks: { value: [] } }).message).toBe(
      'no lifecycle hook "launchgate-launch" on cnt-backend-asg: deploy the launchgate stack',
    );
    const facts = healthyFacts();
    const hooks = "value" in facts.hooks ? facts.hooks.value : [];
    const result = hookCheck({
      ...facts,
      hooks: { value: hooks.map((h) => ({ ...h, defaultResult: "CONTINUE" })) },
    });
    expect(result.status).toBe("failed");
    expect(result.message).toContain(
      "default result is CONTINUE: a gate that dies would let an unchecked instance go InService; set ABANDON",
    );
  });

  it("rules: a disabled rule is named, with the command that enables it", () => {
    expect(
      rulesCheck({ ...healthyFacts(), rules: { value: [{ name: "launchgate-rule-1", state: "DISABLED" }] } })
        .message,
    ).toBe(
      "EventBridge rules not enabled: launchgate-rule-1: aws events enable-rule --name launchgate-rule-1",
    );
  });

  it("zones: names the zone the load balancer does not enable (the Target.NotInUse cause)", () => {
    const result = zonesCheck({
      ...healthyFacts(),
      groupZones: { value: ["eu-west-2a", "eu-west-2b", "eu-west-2c"] },
    });
    expect(result).toEqual({
      id: "zones",
      status: "failed",
      message:
        "the group launches in eu-west-2c but load balancer cnt-alb enables only eu-west-2a, eu-west-2b (instances there would be Target.NotInUse): enable eu-west-2c on cnt-alb, or remove those zones' subnets from the group",
    });
  });

  it("target groups: not allow-listed, wrong type, no listener", () => {
    const result = targetGroupsCheck({
      ...healthyFacts(),
      targetGroups: {
        value: [
          {
            name: "rogue-tg",
            targetType: "ip",
            loadBalancerArns: [],
            intervalSeconds: 30,
            healthyThreshold: 5,
            timeoutSeconds: 5,
            path: "/",
            matcher: "200",
          },
        ],
      },
    });
    expect(result.message).toBe(
      'rogue-tg is attached but not in groups[].targetGroups: the gate will abandon every launch; rogue-tg has target type ip; the gate needs "instance"; no listener rule forwards to rogue-tg (its targets would be Target.NotInUse): add one',
    );
  });

  it("health check: warns when the worst case does not fit what the gate leaves for it", () => {
    const result = healthTimingCheck({
      ...healthyFacts(),
      targetGroups: {
        value: [
          {
            name: "cnt-backend-tg",
            targetType: "instance",
            loadBalancerArns: ["lb"],
            intervalSeconds: 300,
            healthyThreshold: 10,
            timeoutSeconds: 60,
            path: "/health",
            matcher: "200",
          },
        ],
      },
    });
    expect(result.status).toBe("warned");
    expect(result.message).toBe(
      "cnt-backend-tg: /health expecting 200, 10 passes 300 s apart → up to 3360 s to healthy; the gate leaves 600 s after the agent and bootstrap timeouts: raise gateTimeoutSeconds or shorten the health check",
    );
  });

  it("agents, instance profile and secrets", () => {
    expect(agentsCheck({ ...healthyFacts(), agentsOnline: { value: [] } }).message).toMatch(
      /^SSM agent not Online on i-0aaaaaaaaaaaaaaa1: check the instance profile/,
    );
    const denied = { value: { roleArn: ROLE, allowed: {} } };
    expect(instanceProfileCheck({ ...healthyFacts(), instanceRole: denied }).message).toBe(
      `instance role ${ROLE} may not ssm:UpdateInstanceInformation, ssmmessages:CreateControlChannel, ec2messages:GetMessages: grant the SSM agent's permissions (ssmAgentPolicyStatements(), or AmazonSSMManagedInstanceCore)`,
    );
    expect(secretsCheck({ ...healthyFacts(), instanceRole: denied }).message).toBe(
      `instance role ${ROLE} may not read /cnt-backend/env: allow ssm:GetParametersByPath on parameter/cnt-backend/env/* (and kms:Decrypt on its key)`,
    );
  });

  it("command output: an instance role that cannot write the bootstrap's output to CloudWatch Logs", () => {
    const facts = healthyFacts();
    const allowed = "value" in facts.instanceRole ? facts.instanceRole.value.allowed : {};
    const result = commandOutputCheck({
      ...facts,
      instanceRole: {
        value: {
          roleArn: ROLE,
          allowed: { ...allowed, "logs:CreateLogGroup": false, "logs:DescribeLogGroups": false },
        },
      },
    });
    // The actions it names are the ones simulated, and the resources those the README's policy grants.
    expect(result).toEqual({
      id: "command-output",
      status: "warned",
      message:
        `instance role ${ROLE} may not logs:CreateLogGroup, logs:DescribeLogGroups for log group ${LOG_GROUP}: bootstrap output will not reach CloudWatch Logs (SSM keeps only its first 24,000/8,000 characters); ` +
        `allow logs:CreateLogGroup, logs:CreateLogStream, logs:DescribeLogStreams and logs:PutLogEvents on arn:aws:logs:eu-west-2:123456789012:log-group:${LOG_GROUP} and arn:aws:logs:eu-west-2:123456789012:log-group:${LOG_GROUP}:*, ` +
        "and logs:DescribeLogGroups on arn:aws:logs:eu-west-2:123456789012:log-group:* (see README)",
    });
    for (const action of COMMAND_OUTPUT_ACTIONS) expect(result.message).toContain(action);
  });

  it("images: a moving tag, and Docker Hub behind a shared NAT, with what to do instead", () => {
    // The reference deployment's own images: cnt-backend:latest from ECR, livekit from Docker Hub.
    const result = imagesCheck({ ...healthyFacts(), group });
    expect(result.status).toBe("warned");
    expect(result.message).toBe(
      `api uses ${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:latest: a moving tag lets instances of one group run different builds; pin a version tag or a digest (@sha256:…); ` +
        `livekit pulls livekit/livekit-server:v1.8.4 from Docker Hub, whose anonymous pull limit is per source IP (every instance behind one NAT gateway shares it): copy it to ECR, or create an ECR pull-through cache rule for Docker Hub (upstream registry-1.docker.io, credentials in a Secrets Manager secret named ecr-pullthroughcache/…) and use ${ECR_REGISTRY_PLACEHOLDER}/<prefix>/livekit/livekit-server:v1.8.4`,
    );
  });

  it.each([
    ["an untagged image is latest", "nginx", true, true],
    ["an official image with a tag", "nginx:1.27", false, true],
    ["a digest pins even without a tag", `nginx@sha256:${"a".repeat(64)}`, false, true],
    ["another registry", "ghcr.io/org/app:1.0", false, false],
    ["a registry with a port", "registry.local:5000/app:latest", true, false],
    ["a registry's port is not a tag", "registry.local:5000/app", true, false],
    ["a registry with a port, and a tag", "registry.local:5000/team/app:1.0", false, false],
    ["localhost", "localhost/app:1.0", false, false],
    ["Docker Hub named explicitly", "docker.io/library/nginx:1.27", false, true],
    ["Docker Hub's index host", "index.docker.io/livekit/livekit-server:v1.8.4", false, true],
    ["Docker Hub's registry host", "registry-1.docker.io/library/redis", true, true],
    ["a tag and a digest: the digest pins", `nginx:latest@sha256:${"b".repeat(64)}`, false, true],
  ])("images: %s", (_what, image, floating, dockerHub) => {
    const facts = healthyFacts();
    const withImage = {
      ...facts,
      group: {
        ...facts.group,
        app: { ...facts.group.app, services: [{ ...facts.group.app.services[0], image }] },
      },
    } as DoctorFacts;
    const message = imagesCheck(withImage).message;
    expect(message.includes("a moving tag lets")).toBe(floating);
    expect(message.includes("from Docker Hub, whose")).toBe(dockerHub);
  });

  it("images: an explicit Docker Hub name is suggested for ECR as Docker Hub's repository path", () => {
    const facts = healthyFacts();
    const service = { ...facts.group.app.services[0], image: "docker.io/nginx:1.27" };
    const withImage = {
      ...facts,
      group: { ...facts.group, app: { ...facts.group.app, services: [service] } },
    } as DoctorFacts;
    expect(imagesCheck(withImage).message).toContain(
      `use ${ECR_REGISTRY_PLACEHOLDER}/<prefix>/library/nginx:1.27`,
    );
  });

  it("remediation: a configured alarm that does not exist", () => {
    expect(
      remediationCheck({
        ...healthyFacts(),
        alarms: { value: [{ name: "cnt-unhealty-hosts", exists: false }] },
      }).message,
    ).toBe(
      "alarm cnt-unhealty-hosts does not exist in eu-west-2: create it, or fix groups[].remediation.alarms",
    );
  });

  it("a fact that could not be read leaves its check unchecked, with why, never a guess", () => {
    const result = instanceProfileCheck({
      ...healthyFacts(),
      instanceRole: { error: "permission denied: iam:SimulatePrincipalPolicy" },
    });
    expect(result).toEqual({
      id: "instance-profile",
      status: "unchecked",
      message: "permission denied: iam:SimulatePrincipalPolicy",
    });
  });
});

async function commandOutputLine(statements: readonly Statement[]): Promise<string | undefined> {
  const { ctx } = deployment(statements);
  const lines = renderDiagnosis(await diagnose(ctx, ctx.config.groups));
  return lines.find((line) => line.includes("command-output"));
}

const LOGS = "arn:aws:logs:eu-west-2:123456789012";

describe("launchgate doctor against AWS (mocked)", () => {
  it("gathers the facts, simulates the instance role, and renders every check", async () => {
    // The instance role of the README, without read access to the secrets.
    const { ctx, mocks } = deployment([SSM_CORE, ...readmeLogsStatements()]);

    const lines = renderDiagnosis(await diagnose(ctx, ctx.config.groups));

    expect(mocks.iam).toHaveReceivedCommandWith(SimulatePrincipalPolicyCommand, {
      PolicySourceArn: ROLE,
      ActionNames: ["ssm:GetParametersByPath"],
      ResourceArns: ["arn:aws:ssm:eu-west-2:123456789012:parameter/cnt-backend/env"],
    });
    // Each logs action against the resources CloudWatch Logs checks it on.
    const simulated = mocks.iam
      .commandCalls(SimulatePrincipalPolicyCommand)
      .map((call) => `${call.args[0].input.ActionNames?.[0]} ${call.args[0].input.ResourceArns?.[0]}`)
      .filter((call) => call.startsWith("logs:"));
    const stream = `${LOGS}:log-group:${LOG_GROUP}:log-stream:00000000-0000-0000-0000-000000000000/i-00000000000000000/bootstrap/stdout`;
    expect(simulated).toEqual([
      `logs:CreateLogGroup ${LOGS}:log-group:${LOG_GROUP}`,
      `logs:CreateLogGroup ${LOGS}:log-group:${LOG_GROUP}:log-stream:`,
      `logs:DescribeLogGroups ${LOGS}:log-group:*`,
      `logs:CreateLogStream ${stream}`,
      `logs:DescribeLogStreams ${LOGS}:log-group:${LOG_GROUP}`,
      `logs:DescribeLogStreams ${LOGS}:log-group:${LOG_GROUP}:log-stream:`,
      `logs:PutLogEvents ${stream}`,
    ]);
    expect(lines[0]).toBe("doctor cnt-backend-asg");
    expect(lines).toContain(
      "  ✗ zones            the group launches in eu-west-2c but load balancer cnt-alb enables only eu-west-2a, eu-west-2b (instances there would be Target.NotInUse): enable eu-west-2c on cnt-alb, or remove those zones' subnets from the group",
    );
    expect(lines).toContain(
      "  ✓ instance-profile instance role arn:aws:iam::123456789012:role/cnt-backend-instance carries the SSM core permissions",
    );
    expect(lines).toContain(`  ✓ command-output   instance role may write bootstrap output to ${LOG_GROUP}`);
    expect(lines.filter((line) => line.startsWith("  ✗"))).toHaveLength(2);
    // The reference deployment's images: cnt-backend:latest, and livekit from Docker Hub.
    expect(lines.filter((line) => line.startsWith("  ! images"))).toHaveLength(1);
    expect(lines.at(-1)).toBe("11 checks: 2 failed, 1 warnings");
  });

  it("command output: a policy granting the streams as …:log-group:NAME:log-stream:* is enough", async () => {
    const group = `${LOGS}:log-group:${LOG_GROUP}`;
    expect(
      await commandOutputLine([
        SSM_CORE,
        { Action: ["logs:CreateLogGroup", "logs:DescribeLogStreams"], Resource: [group, `${group}:*`] },
        { Action: "logs:DescribeLogGroups", Resource: `${LOGS}:log-group:*` },
        { Action: ["logs:CreateLogStream", "logs:PutLogEvents"], Resource: `${group}:log-stream:*` },
      ]),
    ).toBe(`  ✓ command-output   instance role may write bootstrap output to ${LOG_GROUP}`);
  });

  it("command output: the group's name alone does not cover its streams", async () => {
    const group = `${LOGS}:log-group:${LOG_GROUP}`;
    expect(
      await commandOutputLine([
        SSM_CORE,
        {
          Action: [
            "logs:CreateLogGroup",
            "logs:DescribeLogStreams",
            "logs:CreateLogStream",
            "logs:PutLogEvents",
          ],
          Resource: [group, `${group}:log-stream:`],
        },
        { Action: "logs:DescribeLogGroups", Resource: "*" },
      ]),
    ).toMatch(
      /^ {2}! command-output {3}instance role \S+ may not logs:CreateLogStream, logs:PutLogEvents for log group /,
    );
  });

  it("command output: DescribeLogGroups on the group alone is not enough (it is checked on log-group:*)", async () => {
    const statements = readmeLogsStatements().filter(
      (statement) => statement.Action !== "logs:DescribeLogGroups",
    );
    expect(statements).toHaveLength(readmeLogsStatements().length - 1);
    expect(
      await commandOutputLine([
        SSM_CORE,
        ...statements,
        { Action: "logs:DescribeLogGroups", Resource: `${LOGS}:log-group:${LOG_GROUP}:*` },
      ]),
    ).toMatch(/^ {2}! command-output {3}instance role \S+ may not logs:DescribeLogGroups for log group /);
  });
});
