import { Annotations, CfnOutput, Stack, Token } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import type * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Construct } from "constructs";
import { ConfigError } from "../../shared/config/parse-config.js";
import type { GroupConfig, LaunchgateConfig, ReferenceConfig } from "../../shared/config/schema.js";
import { appPortProblem } from "./app-port.js";
import { ReferenceCache } from "./cache.js";
import { groupsWithHookInside } from "./gate-config.js";
import { ReferenceImageCache } from "./image-cache.js";
import { dockerHubImagesPastTheCache } from "./image-routes.js";
import { ReferenceInstanceRole } from "./instance-role.js";
import { ReferenceInstances } from "./instances.js";
import { ReferenceLoadBalancer } from "./load-balancer.js";
import { acknowledgeReferenceNagFindings } from "./nag.js";
import { ReferenceNetwork } from "./network.js";

export interface ReferenceEnvironmentProps {
  /** A validated config with `reference` set; the environment is built around `groups[0]`. */
  readonly config: LaunchgateConfig;
}

/**
 * The seed's deployment as code, around the first configured group: VPC, ALB and target group, the
 * Auto Scaling group with launchgate's launch hook inside it, Redis, and an ECR pull-through cache.
 * Every zone of the group's subnets is enabled on the ALB by construction.
 */
export class ReferenceEnvironment extends Construct {
  /** The groups whose launch hook is inside the group (LaunchGate must not create another for them). */
  readonly groupsWithHookInside: ReadonlySet<string>;
  /** Redis as the app's config must name it (`groups[0].app.redisEndpoint`); see `withReferenceRedis`. */
  readonly redisEndpoint: string;
  readonly network: ReferenceNetwork;
  readonly loadBalancer: ReferenceLoadBalancer;
  readonly instanceRole: ReferenceInstanceRole;
  readonly instances: ReferenceInstances;
  readonly cache: ReferenceCache;
  readonly imageCache: ReferenceImageCache;

  get vpc(): ec2.Vpc {
    return this.network.vpc;
  }
  /** The gated group, named `groups[0].name`. */
  get autoScalingGroup(): autoscaling.AutoScalingGroup {
    return this.instances.autoScalingGroup;
  }
  /** Named `groups[0].targetGroups[0]`. */
  get targetGroup(): elbv2.ApplicationTargetGroup {
    return this.loadBalancer.targetGroup;
  }

  constructor(scope: Construct, id: string, props: ReferenceEnvironmentProps) {
    super(scope, id);
    const { config } = props;
    const { reference, group } = referenceParts(config, this.node.path);
    checkRegions(config, reference, Stack.of(this), this.node.path);
    const pastTheCache = dockerHubImagesPastTheCache(config);
    if (pastTheCache.length > 0) {
      Annotations.of(this).addWarningV2(
        DOCKER_HUB_PAST_THE_CACHE_WARNING,
        `${pastTheCache.join(", ")} will be pulled from Docker Hub directly, not through the pull-through cache (ECR caches Docker Hub only with credentials): every instance pulls through the one NAT address, under Docker Hub's anonymous pull limit. Give reference.dockerHubCredentialArn (a Secrets Manager secret named ecr-pullthroughcache/…) to pull them through the cache.`,
      );
    }

    this.network = new ReferenceNetwork(this, "Network", { logRetentionDays: config.logRetentionDays });
    const vpc = this.network.vpc;
    this.loadBalancer = new ReferenceLoadBalancer(this, "LoadBalancer", {
      vpc,
      subnets: this.network.loadBalancerSubnets,
      reference,
      targetGroupName: group.targetGroups[0] as string,
      drainSeconds: group.drain?.timeoutSeconds,
    });
    this.imageCache = new ReferenceImageCache(this, "ImageCache", {
      dockerHubCredentialArn: reference.dockerHubCredentialArn,
    });
    this.instanceRole = new ReferenceInstanceRole(this, "InstanceRole", {
      config,
      group,
      cacheRepositoryPrefix: this.imageCache.repositoryPrefix,
    });
    this.instances = new ReferenceInstances(this, "Instances", {
      vpc,
      subnets: this.network.instanceSubnets,
      reference,
      group,
      role: this.instanceRole.role,
      targetGroup: this.loadBalancer.targetGroup,
    });
    this.cache = new ReferenceCache(this, "Cache", {
      vpc,
      subnets: this.network.instanceSubnets,
      clients: this.instances.securityGroup,
      zone: this.network.zone,
    });
    this.redisEndpoint = this.cache.endpoint; // === REFERENCE_REDIS_ENDPOINT
    // No instance before what its bootstrap and app reach exists: the private subnets' default routes
    // through the NAT gateway and the internet gateway (the SSM agent registers, images are pulled through
    // them; `vpc.internetConnectivityEstablished` alone holds only the internet gateway, the routes are
    // the subnets'), and Redis with its name (the app connects at start, and a name looked up before
    // the record exists can be cached as missing). The group resource itself depends; its warm pool
    // and scaling policy follow it by reference.
    const groupResource = this.instances.autoScalingGroup.node
      .defaultChild as autoscaling.CfnAutoScalingGroup;
    groupResource.node.addDependency(
      vpc.internetConnectivityEstablished,
      vpc.selectSubnets(this.network.instanceSubnets).internetConnectivityEstablished,
      this.cache.replicationGroup,
      this.cache.record,
    );
    this.groupsWithHookInside = groupsWithHookInside(config);

    new CfnOutput(this, "Url", {
      value: `${reference.certificateArn ? "https" : "http"}://${this.loadBalancer.loadBalancer.loadBalancerDnsName}`,
      description: "The reference environment's load balancer",
    });
    // Nothing is created under this path: every parameter there becomes an environment variable of
    // the containers (bootstrap/bootstrap.sh, write-env), so even a placeholder would reach the app.
    new CfnOutput(this, "AppSecretsPath", {
      value: group.app.secretsParameterPath,
      description: "Put the app's SecureStrings under this Parameter Store path (each becomes an env var)",
    });
    acknowledgeReferenceNagFindings(this, config);
  }
}

/**
 * Adds the reference environment when config has `reference`; otherwise adds nothing and returns
 * undefined.
 */
export function addReferenceEnvironment(
  scope: Construct,
  config: LaunchgateConfig,
): ReferenceEnvironment | undefined {
  return config.reference ? new ReferenceEnvironment(scope, "Reference", { config }) : undefined;
}

function referenceParts(
  config: LaunchgateConfig,
  path: string,
): { reference: ReferenceConfig; group: GroupConfig } {
  const [group] = config.groups;
  if (!config.reference || !group) {
    throw new ConfigError(["reference: is required to build the reference environment"], `props of ${path}`);
  }
  // The environment creates exactly one target group; the gate waits for health in every listed one.
  if (group.targetGroups.length !== 1) {
    throw new ConfigError(
      [
        `groups[0].targetGroups: got ${JSON.stringify(group.targetGroups)}; allowed: exactly one name with reference set (the reference environment creates that target group)`,
      ],
      `props of ${path}`,
    );
  }
  const port = appPortProblem(config.reference.appPort, group.app);
  if (port) throw new ConfigError([port], `props of ${path}`);
  return { reference: config.reference, group };
}

/** The warning's id, for `Annotations.of(env).acknowledgeWarning(...)` where direct pulls are meant. */
export const DOCKER_HUB_PAST_THE_CACHE_WARNING = "launchgate:reference-docker-hub-past-the-cache";

/**
 * An ALB takes certificates of its own account and region only; a pull-through cache rule, secrets of
 * its own account and region; SSM encrypts with keys of its own region (a key may be another account's).
 */
function checkRegions(
  config: LaunchgateConfig,
  reference: ReferenceConfig,
  stack: Stack,
  path: string,
): void {
  const region = Token.isUnresolved(stack.region) ? config.region : stack.region;
  const account = Token.isUnresolved(stack.account) ? config.account : stack.account;
  const problems: string[] = [];
  for (const key of ["certificateArn", "dockerHubCredentialArn", "secretsKmsKeyArn"] as const) {
    const value = reference[key];
    if (value === undefined) continue;
    const [, , , arnRegion, arnAccount] = value.split(":");
    if (arnRegion !== region) {
      problems.push(
        `reference.${key}: got ${JSON.stringify(value)}; allowed: an ARN in ${region}, the stack's region`,
      );
    } else if (key !== "secretsKmsKeyArn" && account !== undefined && arnAccount !== account) {
      problems.push(
        `reference.${key}: got ${JSON.stringify(value)}; allowed: an ARN of account ${account}, the stack's`,
      );
    }
  }
  if (problems.length > 0) throw new ConfigError(problems, `props of ${path}`);
}
