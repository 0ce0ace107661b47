import { describe, expect, it } from "vitest";
import { ECR_REGISTRY_PLACEHOLDER as ECR } from "../../../shared/config/defaults.js";
import { propertiesOf, readable, synthesizeReference } from "./synth-reference.js";

const KMS_KEY = "arn:aws:kms:eu-west-2:123456789012:key/11111111-2222-3333-4444-555555555555";
const DOCKER_HUB =
  "arn:aws:secretsmanager:eu-west-2:123456789012:secret:ecr-pullthroughcache/docker-hub-AbCdEf";

/** The instance role's managed policies and every statement of every policy attached to it. */
function instancePermissions(raw: unknown) {
  const { template, env, logicalId } = synthesizeReference(raw);
  if (!env) throw new Error("no reference environment");
  const roleId = logicalId(env.instanceRole.role);
  const role = propertiesOf(template, roleId);
  const policies = Object.values(template.findResources("AWS::IAM::Policy")).filter((policy) =>
    (policy.Properties.Roles as unknown[]).some((r) => JSON.stringify(r) === JSON.stringify({ Ref: roleId })),
  );
  const profiles = Object.values(template.findResources("AWS::IAM::InstanceProfile"));
  return {
    managed: readable(role.ManagedPolicyArns),
    inline: role.Policies,
    statements: readable(policies.flatMap((policy) => policy.Properties.PolicyDocument.Statement)),
    profileRoles: profiles.map((profile) => profile.Properties.Roles),
    roleId,
  };
}

const arn = (service: string, resource: string) =>
  `arn:\${AWS::Partition}:${service}:eu-west-2:\${AWS::AccountId}:${resource}`;

describe("instance profile", () => {
  it("holds exactly the SSM agent's calls and the bootstrap's reads, no managed policy (default config)", () => {
    const { managed, inline, statements, profileRoles, roleId } = instancePermissions({ reference: {} });
    expect(profileRoles).toEqual([[{ Ref: roleId }]]);
    // AmazonSSMManagedInstanceCore would also allow ssm:GetParameter(s) on every parameter of the account.
    expect(managed).toBeUndefined();
    expect(inline).toBeUndefined();
    expect(statements).toEqual([
      {
        Sid: "SsmAgent",
        Effect: "Allow",
        Action: [
          "ssm:DescribeAssociation",
          "ssm:GetDeployablePatchSnapshotForInstance",
          "ssm:GetDocument",
          "ssm:DescribeDocument",
          "ssm:GetManifest",
          "ssm:ListAssociations",
          "ssm:ListInstanceAssociations",
          "ssm:PutInventory",
          "ssm:PutComplianceItems",
          "ssm:PutConfigurePackageResult",
          "ssm:UpdateAssociationStatus",
          "ssm:UpdateInstanceAssociationStatus",
          "ssm:UpdateInstanceInformation",
        ],
        Resource: "*",
      },
      {
        Sid: "SsmAgentChannels",
        Effect: "Allow",
        Action: [
          "ssmmessages:CreateControlChannel",
          "ssmmessages:CreateDataChannel",
          "ssmmessages:OpenControlChannel",
          "ssmmessages:OpenDataChannel",
        ],
        Resource: "*",
      },
      {
        Sid: "SsmAgentMessages",
        Effect: "Allow",
        Action: [
          "ec2messages:AcknowledgeMessage",
          "ec2messages:DeleteMessage",
          "ec2messages:FailMessage",
          "ec2messages:GetEndpoint",
          "ec2messages:GetMessages",
          "ec2messages:SendReply",
        ],
        Resource: "*",
      },
      {
        Sid: "ReadAppSecrets",
        Effect: "Allow",
        Action: "ssm:GetParametersByPath",
        Resource: [arn("ssm", "parameter/cnt-backend/env"), arn("ssm", "parameter/cnt-backend/env/*")],
      },
      { Sid: "EcrLogin", Effect: "Allow", Action: "ecr:GetAuthorizationToken", Resource: "*" },
      {
        Sid: "EcrPull",
        Effect: "Allow",
        Action: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        // The api image is ${ECR_REGISTRY}/cnt-backend:latest; cached images live under the rule's prefix.
        Resource: [arn("ecr", "repository/cnt-backend"), arn("ecr", "repository/ecr-public/*")],
      },
      {
        Sid: "EcrPullThroughCache",
        Effect: "Allow",
        Action: ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        Resource: arn("ecr", "repository/ecr-public/*"),
      },
      {
        Sid: "BootstrapOutput",
        Effect: "Allow",
        Action: [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
        ],
        Resource: [
          arn("logs", "log-group:/launchgate/launchgate-cnt-backend/bootstrap-output"),
          arn("logs", "log-group:/launchgate/launchgate-cnt-backend/bootstrap-output:*"),
        ],
      },
      {
        Sid: "FindBootstrapOutputGroup",
        Effect: "Allow",
        Action: "logs:DescribeLogGroups",
        Resource: arn("logs", "log-group:*"),
      },
    ]);
    // Parameters are read only under the app's path, and only by path: no ssm:GetParameter(s) anywhere.
    const actionsOf = (s: { Action: string | string[] }) => [s.Action].flat();
    const reads = (statements as { Action: string | string[]; Resource: unknown }[]).filter((s) =>
      actionsOf(s).some((action) => /^ssm:GetParameter/.test(action)),
    );
    expect(reads).toEqual([
      expect.objectContaining({
        Action: "ssm:GetParametersByPath",
        Resource: [arn("ssm", "parameter/cnt-backend/env"), arn("ssm", "parameter/cnt-backend/env/*")],
      }),
    ]);
  });

  it("adds KMS decryption through SSM only for a customer managed key, and follows the config's names", () => {
    const { statements } = instancePermissions({
      stackName: "lg-web",
      reference: { secretsKmsKeyArn: KMS_KEY, dockerHubCredentialArn: DOCKER_HUB },
      groups: [
        {
          name: "web",
          targetGroups: ["web-tg"],
          app: {
            secretsParameterPath: "/web/prod",
            services: [
              { name: "api", image: `${ECR}/team/api:1.2@sha256:${"a".repeat(64)}` },
              { name: "cached", image: `${ECR}/docker-hub/library/nginx:1.27` },
              { name: "public", image: "redis:7" },
            ],
          },
        },
      ],
    });
    const bySid = new Map((statements as { Sid: string }[]).map((s) => [s.Sid, s]));
    expect([...bySid.keys()]).toEqual([
      "SsmAgent",
      "SsmAgentChannels",
      "SsmAgentMessages",
      "ReadAppSecrets",
      "DecryptAppSecrets",
      "EcrLogin",
      "EcrPull",
      "EcrPullThroughCache",
      "BootstrapOutput",
      "FindBootstrapOutputGroup",
    ]);
    expect(bySid.get("DecryptAppSecrets")).toEqual({
      Sid: "DecryptAppSecrets",
      Effect: "Allow",
      Action: "kms:Decrypt",
      Resource: KMS_KEY,
      Condition: { StringEquals: { "kms:ViaService": "ssm.eu-west-2.amazonaws.com" } },
    });
    expect(bySid.get("ReadAppSecrets")).toMatchObject({
      Resource: [arn("ssm", "parameter/web/prod"), arn("ssm", "parameter/web/prod/*")],
    });
    expect(bySid.get("EcrPull")).toMatchObject({
      Resource: [arn("ecr", "repository/team/api"), arn("ecr", "repository/docker-hub/*")],
    });
    expect(bySid.get("EcrPullThroughCache")).toMatchObject({
      Resource: arn("ecr", "repository/docker-hub/*"),
    });
    expect(bySid.get("BootstrapOutput")).toMatchObject({
      Resource: [
        arn("logs", "log-group:/launchgate/lg-web/bootstrap-output"),
        arn("logs", "log-group:/launchgate/lg-web/bootstrap-output:*"),
      ],
    });
  });
});
