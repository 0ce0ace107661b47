import { ArnFormat, Stack } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import { ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import { commandLogGroupNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig, LaunchgateConfig } from "../../shared/config/schema.js";
import { ssmAgentPolicyStatements } from "../constructs/ssm-agent-policy.js";

export interface ReferenceInstanceRoleProps {
  readonly config: LaunchgateConfig;
  readonly group: GroupConfig;
  /** The repository prefix of the ECR pull-through cache rule (its repositories are `<prefix>/…`). */
  readonly cacheRepositoryPrefix: string;
}

/**
 * The instances' role: the SSM agent's calls (`ssmAgentPolicyStatements()`: AmazonSSMManagedInstanceCore
 * without its account-wide parameter reads), plus exactly what bootstrap/bootstrap.sh and the agent
 * streaming its output call (docs/deploy.md, "The instance profile"):
 * `aws ssm get-parameters-by-path --recursive --with-decryption` on the app's secrets path;
 * `aws ecr get-login-password` and `docker compose pull` of `${ECR_REGISTRY}/…` images (the app's
 * own repositories and the pull-through cache's); the agent's CloudWatch Logs calls for the bootstrap
 * output log group. `aws sts get-caller-identity` needs no permission.
 */
export class ReferenceInstanceRole extends Construct {
  readonly role: iam.Role;
  readonly policy: iam.Policy;

  constructor(scope: Construct, id: string, props: ReferenceInstanceRoleProps) {
    super(scope, id);
    const { config, group, cacheRepositoryPrefix } = props;
    const stack = Stack.of(this);
    const arn = (
      service: string,
      resource: string,
      resourceName: string,
      sep = ArnFormat.SLASH_RESOURCE_NAME,
    ) => stack.formatArn({ service, resource, resourceName, arnFormat: sep });
    const secretsPath = group.app.secretsParameterPath.replace(/^\//, "");
    const logGroup = commandLogGroupNameFor(config);

    this.role = new iam.Role(this, "Role", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
      description: `launchgate reference instances of ${group.name}: SSM agent and the bootstrap's reads`,
    });

    // Each statement has a Sid, so CDK's policy minimization (cdk.json) never merges them.
    // No managed policy: AmazonSSMManagedInstanceCore also allows ssm:GetParameter(s) on every parameter.
    const statements = [
      ...ssmAgentPolicyStatements(),
      new iam.PolicyStatement({
        sid: "ReadAppSecrets",
        actions: ["ssm:GetParametersByPath"],
        resources: [arn("ssm", "parameter", secretsPath), arn("ssm", "parameter", `${secretsPath}/*`)],
      }),
      // SecureStrings under the AWS managed aws/ssm key need no statement: its key policy lets every
      // principal of the account decrypt through SSM. A customer managed key does.
      ...(config.reference?.secretsKmsKeyArn
        ? [
            new iam.PolicyStatement({
              sid: "DecryptAppSecrets",
              actions: ["kms:Decrypt"],
              resources: [config.reference.secretsKmsKeyArn],
              conditions: { StringEquals: { "kms:ViaService": `ssm.${stack.region}.amazonaws.com` } },
            }),
          ]
        : []),
      new iam.PolicyStatement({
        sid: "EcrLogin",
        actions: ["ecr:GetAuthorizationToken"],
        resources: ["*"],
      }),
      new iam.PolicyStatement({
        sid: "EcrPull",
        actions: ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"],
        resources: [
          ...ownRepositories(group, cacheRepositoryPrefix).map((name) => arn("ecr", "repository", name)),
          arn("ecr", "repository", `${cacheRepositoryPrefix}/*`),
        ],
      }),
      // The first pull of an image through the cache creates its repository and imports the image.
      new iam.PolicyStatement({
        sid: "EcrPullThroughCache",
        actions: ["ecr:BatchImportUpstreamImage", "ecr:CreateRepository"],
        resources: [arn("ecr", "repository", `${cacheRepositoryPrefix}/*`)],
      }),
      new iam.PolicyStatement({
        sid: "BootstrapOutput",
        actions: [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
        ],
        resources: [
          arn("logs", "log-group", logGroup, ArnFormat.COLON_RESOURCE_NAME),
          arn("logs", "log-group", `${logGroup}:*`, ArnFormat.COLON_RESOURCE_NAME),
        ],
      }),
      // The agent finds the group with DescribeLogGroups by prefix, which IAM checks against every
      // group of the account (docs/aws-facts.md, SSM Run Command).
      new iam.PolicyStatement({
        sid: "FindBootstrapOutputGroup",
        actions: ["logs:DescribeLogGroups"],
        resources: [arn("logs", "log-group", "*", ArnFormat.COLON_RESOURCE_NAME)],
      }),
    ];
    this.policy = new iam.Policy(this, "Bootstrap", { statements, roles: [this.role] });
  }
}

/**
 * The account's own repositories the app pulls from: images written `${ECR_REGISTRY}/<repository>[:tag]
 * [@digest]`, except those under the pull-through cache's prefix (its statement covers them).
 */
export function ownRepositories(group: GroupConfig, cacheRepositoryPrefix: string): string[] {
  const prefix = `${ECR_REGISTRY_PLACEHOLDER}/`;
  const names = group.app.services
    .map((service) => service.image)
    .filter((image) => image.startsWith(prefix))
    .map((image) => {
      const path = image.slice(prefix.length).replace(/@sha256:[a-f0-9]{64}$/, "");
      const lastSlash = path.lastIndexOf("/");
      const colon = path.indexOf(":", lastSlash + 1);
      return colon === -1 ? path : path.slice(0, colon);
    })
    .filter((name) => !name.startsWith(`${cacheRepositoryPrefix}/`));
  return [...new Set(names)];
}
