import { Duration } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type * as iam from "aws-cdk-lib/aws-iam";
import { Construct } from "constructs";
import type { GroupConfig, ReferenceConfig } from "../../shared/config/schema.js";
import { addLaunchHookInside, drainHookSpec, launchHookSpec } from "../constructs/launch-hook.js";

export interface ReferenceInstancesProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly reference: ReferenceConfig;
  /** The gated group: its name, and the launch hook launchgate gates it by. */
  readonly group: GroupConfig;
  readonly role: iam.IRole;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
}

/** Scale out above, in below, this average CPU of the group. */
export const TARGET_CPU_PERCENT = 70;

/**
 * Long enough for a target that Auto Scaling registers again after the hook (the gate registered it
 * already) to be reported healthy again; the gate itself holds instances until they are healthy, so
 * the grace period never has to cover the bootstrap (health-check-grace-period.html: with launch hooks
 * it can even be 0).
 */
const HEALTH_CHECK_GRACE = Duration.seconds(60);

/**
 * How long after InService a new instance's metrics are left out of the group's (target tracking's CPU
 * average, and an instance refresh's pace). It counts from InService, after the launch hook, and the gate
 * completes the hook only once the ALB reports the instance healthy: the bootstrap, image pulls and app
 * start are over by then, so the warmup only covers CPU settling once the instance takes its share of
 * traffic (docs/aws-facts.md, reference environment: "Default instance warmup").
 */
export const DEFAULT_INSTANCE_WARMUP = Duration.seconds(60);

/** The config's pool states, as CDK names them. */
const POOL_STATES = {
  Stopped: autoscaling.PoolState.STOPPED,
  Running: autoscaling.PoolState.RUNNING,
} as const;

/**
 * The gated Auto Scaling group: launch template, security group, ELB health checks, CPU target tracking,
 * and launchgate's launch hook inside the group itself.
 */
export class ReferenceInstances extends Construct {
  readonly securityGroup: ec2.SecurityGroup;
  readonly launchTemplate: ec2.LaunchTemplate;
  readonly autoScalingGroup: autoscaling.AutoScalingGroup;

  constructor(scope: Construct, id: string, props: ReferenceInstancesProps) {
    super(scope, id);
    const { reference, group } = props;
    // Outbound is open: the bootstrap reaches SSM, ECR, CloudWatch Logs, github.com and image registries
    // through the NAT gateway. Inbound is only what the load balancer and Redis rules add.
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: `launchgate reference instances of ${group.name}: app port from the ALB only`,
      allowAllOutbound: true,
    });

    const instanceType = new ec2.InstanceType(reference.instanceType);
    this.launchTemplate = new ec2.LaunchTemplate(this, "LaunchTemplate", {
      // The SSM public parameter, resolved by CloudFormation at deploy time: no context lookup at synth.
      machineImage: ec2.MachineImage.latestAmazonLinux2023({
        cpuType:
          instanceType.architecture === ec2.InstanceArchitecture.ARM_64
            ? ec2.AmazonLinuxCpuType.ARM_64
            : ec2.AmazonLinuxCpuType.X86_64,
      }),
      instanceType,
      role: props.role,
      securityGroup: this.securityGroup,
      // IMDSv2 only, and one hop: the token's response does not survive the extra hop through the Docker
      // bridge, so bridge-networked containers (third-party images included) cannot take the instance
      // role's credentials. Nothing in a container needs them: the bootstrap (on the host) reads the
      // secrets and pulls the images, and the role holds nothing else for an app to use. Host-networked
      // containers (LiveKit, by default) share the host's stack and still reach IMDS
      // (docs/aws-facts.md, reference environment: "IMDSv2 from containers").
      httpEndpoint: true,
      httpTokens: ec2.LaunchTemplateHttpTokens.REQUIRED,
      httpPutResponseHopLimit: 1,
      // Room for Docker images (the AMI's own root volume is 8 GiB), encrypted at rest.
      blockDevices: [
        {
          deviceName: "/dev/xvda",
          volume: ec2.BlockDeviceVolume.ebs(30, { encrypted: true, volumeType: ec2.EbsDeviceVolumeType.GP3 }),
        },
      ],
      detailedMonitoring: true,
      associatePublicIpAddress: false,
    });

    this.autoScalingGroup = new autoscaling.AutoScalingGroup(this, "Group", {
      // The name launchgate's config, event patterns and IAM already use for this group.
      autoScalingGroupName: group.name,
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      launchTemplate: this.launchTemplate,
      minCapacity: 1,
      maxCapacity: 3,
      // No desiredCapacity: CloudFormation starts the group at minCapacity (1) and, unlike an explicit
      // value, a later deploy does not reset what target tracking has scaled it to.
      healthChecks: autoscaling.HealthChecks.withAdditionalChecks({
        additionalTypes: [autoscaling.AdditionalHealthCheckType.ELB],
        gracePeriod: HEALTH_CHECK_GRACE,
      }),
      defaultInstanceWarmup: DEFAULT_INSTANCE_WARMUP,
    });
    this.autoScalingGroup.attachToApplicationTargetGroup(props.targetGroup);
    // Prepared instances: the gate runs only `prepare` into the pool, and `start` plus the health gate on
    // the way out (docs/aws-facts.md, warm pools). Running (the config's default: the ≤ 60 s pool) or
    // Stopped (cheaper, slower) is the operator's cost trade-off; the launch template needs nothing for
    // either (only Hibernated would, and it is not offered). maxGroupPreparedCapacity = minSize keeps the
    // pool at exactly minSize: left unset, AWS keeps max(minSize, group max − desired) in it, i.e. 2 with
    // max 3 and desired 1 — one more instance billed, running, than asked for (docs/aws-facts.md, warm
    // pools: pool size).
    if (props.reference.warmPool) {
      this.autoScalingGroup.addWarmPool({
        minSize: props.reference.warmPool.minSize,
        maxGroupPreparedCapacity: props.reference.warmPool.minSize,
        poolState: POOL_STATES[props.reference.warmPool.poolState],
      });
    }
    this.autoScalingGroup.scaleOnCpuUtilization("Cpu", { targetUtilizationPercent: TARGET_CPU_PERCENT });
    addLaunchHookInside(this.autoScalingGroup, launchHookSpec(group));
    // Its drain hook too, when the group drains: the group is created after the gate, so a separate hook
    // resource naming it would come first, and fail.
    const drain = drainHookSpec(group);
    if (drain) addLaunchHookInside(this.autoScalingGroup, drain);
  }
}
