import { Stack, Token, Validations } from "aws-cdk-lib";
import { commandLogGroupNameFor } from "../../shared/config/runtime-config.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import type { ReferenceEnvironment } from "./reference-environment.js";

/**
 * Every cdk-nag finding the reference environment accepts, each on its exact resource with its reason
 * (the style of infra/nag-suppressions.ts): a new finding nobody reasoned about still fails synth.
 */
export function acknowledgeReferenceNagFindings(env: ReferenceEnvironment, config: LaunchgateConfig): void {
  const stack = Stack.of(env);
  // As cdk-nag prints an ARN: literal region and account where the stack has them, else the pseudo
  // parameter's name.
  const region = Token.isUnresolved(stack.region) ? "<AWS::Region>" : stack.region;
  const account = Token.isUnresolved(stack.account) ? "<AWS::AccountId>" : stack.account;
  const arn = (service: string, resource: string) =>
    `arn:<AWS::Partition>:${service}:${region}:${account}:${resource}`;
  const iam5 = (resource: string, reason: string) => ({
    id: `AwsSolutions::AwsSolutions-IAM5[Resource::${resource}]`,
    reason,
  });
  const group = config.groups[0];
  const secretsPath = group?.app.secretsParameterPath ?? "";
  const logGroup = commandLogGroupNameFor(config);

  Validations.of(env.instanceRole.policy).acknowledge(
    iam5(
      arn("ssm", `parameter${secretsPath}/*`),
      "The bootstrap reads the app's secrets path recursively (get-parameters-by-path --recursive); the wildcard covers only that path.",
    ),
    // One finding for every `*` resource of the policy: cdk-nag names it by the resource alone.
    iam5(
      "*",
      "Resource * on two kinds of statement only. SsmAgent, SsmAgentChannels, SsmAgentMessages: the SSM agent's own calls, on * exactly as AWS's AmazonSSMManagedInstanceCore grants them, minus its account-wide ssm:GetParameter/GetParameters (the agent acts for an instance whose ID exists only after launch; docs/aws-facts.md, IAM scoping). EcrLogin: ecr:GetAuthorizationToken supports no resource-level permissions (only *).",
    ),
    iam5(
      arn("ecr", `repository/${env.imageCache.repositoryPrefix}/*`),
      "Pull-through cache repositories are created on first pull, named under the cache rule's prefix; the wildcard covers only that prefix.",
    ),
    iam5(
      arn("logs", `log-group:${logGroup}:*`),
      "The SSM agent streams each bootstrap command's output to its own log streams (named after the command and instance) in this one log group.",
    ),
    iam5(
      arn("logs", "log-group:*"),
      "The SSM agent looks the output group up with DescribeLogGroups by name prefix, which IAM authorizes only against all log groups (docs/aws-facts.md, SSM Run Command).",
    ),
  );
  Validations.of(env.loadBalancer.securityGroup).acknowledge({
    id: "AwsSolutions::AwsSolutions-EC23",
    reason:
      "The internet-facing load balancer serves the app to everyone: HTTP(S) from anywhere is its purpose.",
  });
  Validations.of(env.loadBalancer.loadBalancer).acknowledge({
    id: "AwsSolutions::AwsSolutions-ELB2",
    reason:
      "Access logs need an S3 bucket with its own logging and policy: left to the operator of a real deployment; launchgate reads target health, not access logs.",
  });
  Validations.of(env.instances.autoScalingGroup).acknowledge({
    id: "AwsSolutions::AwsSolutions-AS3",
    reason:
      "launchgate records the outcome of every launch with its reason and alarms on abandoned launches and automation failures; scaling notifications would repeat that.",
  });
  Validations.of(env.cache.replicationGroup).acknowledge(
    {
      id: "AwsSolutions::AwsSolutions-AEC3",
      reason:
        "Encrypted at rest; not in transit because the bootstrap gives containers a plain redis:// URL, which a TLS-only endpoint refuses. Traffic stays in the private subnets, from the instances' security group only.",
    },
    {
      id: "AwsSolutions::AwsSolutions-AEC4",
      reason:
        "One cache.t3.micro node, the seed deployment's size: Socket.io adapter and LiveKit state is transient and rebuilt by reconnecting clients after a failover-less restart.",
    },
    {
      id: "AwsSolutions::AwsSolutions-AEC5",
      reason:
        "6379 is what the app's config and LiveKit expect; only the instances' security group may connect at all.",
    },
    {
      id: "AwsSolutions::AwsSolutions-AEC6",
      reason:
        "Redis AUTH requires encryption in transit (see AEC3) and a token every container would need; access is limited to the instances' security group instead.",
    },
  );
}
