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
  it("holds the SSM core policy and exactly the bootstrap's reads (default config)", () => {
    const { managed, inline, statements, profileRoles, roleId } = instancePermissions({ reference: {} });
    expect(profileRoles).toEqual([[{ Ref: roleId }]]);
    expect(managed).toEqual([`arn:\${AWS::Partition}:iam::aws:policy/AmazonSSMManagedInstanceCore`]);
    expect(inline).toBeUndefined();
    expect(statements).toEqual([
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
