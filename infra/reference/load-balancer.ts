import { Duration } from "aws-cdk-lib";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import { Construct } from "constructs";
import type { ReferenceConfig } from "../../shared/config/schema.js";

export interface ReferenceLoadBalancerProps {
  readonly vpc: ec2.IVpc;
  readonly subnets: ec2.SubnetSelection;
  readonly reference: ReferenceConfig;
  /** The gated group's target group name (`groups[0].targetGroups[0]`): the gate's IAM names it. */
  readonly targetGroupName: string;
  /** The gated group's drain limit (groups[].drain.timeoutSeconds), when it drains on scale-in. */
  readonly drainSeconds?: number;
}

/**
 * The internet-facing ALB, its listeners and the instance-type target group the gate registers
 * instances with and waits on.
 */
export class ReferenceLoadBalancer extends Construct {
  readonly loadBalancer: elbv2.ApplicationLoadBalancer;
  readonly targetGroup: elbv2.ApplicationTargetGroup;
  readonly securityGroup: ec2.SecurityGroup;

  constructor(scope: Construct, id: string, props: ReferenceLoadBalancerProps) {
    super(scope, id);
    const { reference } = props;
    // Egress is opened only towards the instances, by the target group's connection rules.
    this.securityGroup = new ec2.SecurityGroup(this, "SecurityGroup", {
      vpc: props.vpc,
      description: "launchgate reference ALB: HTTP(S) from anywhere",
      allowAllOutbound: false,
    });
    this.loadBalancer = new elbv2.ApplicationLoadBalancer(this, "Alb", {
      vpc: props.vpc,
      vpcSubnets: props.subnets,
      internetFacing: true,
      securityGroup: this.securityGroup,
      dropInvalidHeaderFields: true,
    });

    this.targetGroup = new elbv2.ApplicationTargetGroup(this, "TargetGroup", {
      vpc: props.vpc,
      targetGroupName: props.targetGroupName,
      targetType: elbv2.TargetType.INSTANCE,
      protocol: elbv2.ApplicationProtocol.HTTP,
      port: reference.appPort,
      // Fast and honest: a new target is healthy after its first passing check (the gate waits for
      // that), so a short interval shortens every launch; two passes bring a sick target back, three
      // failures (30 s) take it out. Exactly 200: a redirect or an error page is not healthy.
      healthCheck: {
        path: reference.healthCheckPath,
        port: String(reference.appPort),
        protocol: elbv2.Protocol.HTTP,
        interval: Duration.seconds(10),
        timeout: Duration.seconds(5),
        healthyThresholdCount: 2,
        unhealthyThresholdCount: 3,
        healthyHttpCodes: "200",
      },
      // On scale-in, Auto Scaling deregisters the instance and waits out this delay before its terminate
      // hook (docs/aws-facts.md, terminate lifecycle hooks): sessions that outlast it are cut then, so
      // with a drain it covers the drain's limit — the load balancer ends it early once none is left.
      deregistrationDelay: Duration.seconds(
        Math.max(reference.deregistrationDelaySeconds, props.drainSeconds ?? 0),
      ),
      // Socket.io's HTTP long-polling transport (its default fallback) needs every request of a session
      // on the same instance.
      stickinessCookieDuration: Duration.days(1),
    });

    if (reference.certificateArn) {
      this.loadBalancer.addListener("Https", {
        protocol: elbv2.ApplicationProtocol.HTTPS,
        port: 443,
        certificates: [elbv2.ListenerCertificate.fromArn(reference.certificateArn)],
        sslPolicy: elbv2.SslPolicy.RECOMMENDED_TLS,
        defaultTargetGroups: [this.targetGroup],
      });
      this.loadBalancer.addListener("Http", {
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: 80,
        defaultAction: elbv2.ListenerAction.redirect({ protocol: "HTTPS", port: "443", permanent: true }),
      });
    } else {
      this.loadBalancer.addListener("Http", {
        protocol: elbv2.ApplicationProtocol.HTTP,
        port: 80,
        defaultTargetGroups: [this.targetGroup],
      });
    }
  }
}
