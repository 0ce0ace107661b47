import { Fn, RemovalPolicy } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as logs from "aws-cdk-lib/aws-logs";
import * as route53 from "aws-cdk-lib/aws-route53";
import { Construct } from "constructs";

/** The private DNS zone of the reference VPC: Redis gets a name here that config can hold at synth. */
export const REFERENCE_ZONE_NAME = "launchgate.internal";

export interface ReferenceNetworkProps {
  /** Validated by the config schema: every allowed value is a CloudWatch Logs retention. */
  readonly logRetentionDays: number;
}

/**
 * The VPC: public subnets (the ALB, the NAT gateway) and private subnets with egress (the instances,
 * Redis) in two Availability Zones.
 *
 * Egress goes through one NAT gateway (not one per zone): the bootstrap needs the internet anyway —
 * the compose plugin comes from github.com, non-ECR images from their registries — so isolated subnets
 * with interface endpoints would still need a NAT, and the endpoints the instances call (ssm,
 * ssmmessages, ec2messages, ecr.api, ecr.dkr, logs, sts), each billed per zone, would cost more per
 * month than the one gateway. The price of one gateway is that a zone outage also cuts the other zone's egress;
 * serving traffic (ALB → instances) does not use it. The S3 gateway endpoint is free and keeps ECR
 * image layers and dnf packages (both served from S3) off the NAT's per-GB charge.
 */
export class ReferenceNetwork extends Construct {
  readonly vpc: ec2.Vpc;
  readonly zone: route53.PrivateHostedZone;

  constructor(scope: Construct, id: string, props: ReferenceNetworkProps) {
    super(scope, id);
    this.vpc = new ec2.Vpc(this, "Vpc", {
      ipAddresses: ec2.IpAddresses.cidr("10.40.0.0/16"),
      // The region's first two zones, resolved by CloudFormation (Fn::GetAZs): the template names no
      // zone. Synth needs no lookup in an environment-agnostic stack (no `account`, the default); with
      // an account, CDK's Vpc still reads the stack's zones (an `availability-zones` context lookup,
      // cached in cdk.context.json) just to check these against them.
      availabilityZones: [Fn.select(0, Fn.getAzs()), Fn.select(1, Fn.getAzs())],
      natGateways: 1,
      subnetConfiguration: [
        { name: "Public", subnetType: ec2.SubnetType.PUBLIC, cidrMask: 24, mapPublicIpOnLaunch: false },
        { name: "Private", subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 22 },
      ],
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
      // Nothing is placed in the default security group (every resource here has its own); closing it
      // would take a custom-resource Lambda.
      restrictDefaultSecurityGroup: false,
    });
    // Rejected traffic only: enough to debug a security-group mistake, cheap at this volume.
    this.vpc.addFlowLog("RejectedFlows", {
      trafficType: ec2.FlowLogTrafficType.REJECT,
      destination: ec2.FlowLogDestination.toCloudWatchLogs(
        new logs.LogGroup(this, "FlowLogs", {
          retention: props.logRetentionDays as logs.RetentionDays,
          removalPolicy: RemovalPolicy.DESTROY,
        }),
      ),
    });
    this.zone = new route53.PrivateHostedZone(this, "Zone", { zoneName: REFERENCE_ZONE_NAME, vpc: this.vpc });
  }

  /** The instances' subnets: one private subnet per zone. */
  get instanceSubnets(): ec2.SubnetSelection {
    return { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS };
  }

  /**
   * The load balancer's subnets: the public subnet of exactly the zones the instances' subnets are in,
   * so no instance can land in a zone the load balancer does not serve (`Target.NotInUse`).
   */
  get loadBalancerSubnets(): ec2.SubnetSelection {
    const zones = this.vpc.selectSubnets(this.instanceSubnets).availabilityZones;
    return { subnetType: ec2.SubnetType.PUBLIC, availabilityZones: zones };
  }
}
