/**
 * A small web service behind an Application Load Balancer, gated by launchgate: an instance of the
 * group goes InService only once the bootstrap has started its containers and the target group reports
 * it healthy. `npm run build && npx cdk synth` (or deploy) from this folder.
 */
import { App, ArnFormat, Duration, Stack, type StackProps } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ec2 from "aws-cdk-lib/aws-ec2";
import * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import * as iam from "aws-cdk-lib/aws-iam";
import type { Construct } from "constructs";
import { LaunchGate, ssmAgentPolicyStatements } from "launchgate";

export class WebServiceStack extends Stack {
  readonly gate: LaunchGate;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, props);

    // The instances need routes to the SSM endpoints and to the image registry: one NAT gateway.
    const vpc = new ec2.Vpc(this, "Vpc", { maxAzs: 2, natGateways: 1 });
    const alb = new elbv2.ApplicationLoadBalancer(this, "Alb", { vpc, internetFacing: true });
    const listener = alb.addListener("Http", { port: 80, open: true });

    const securityGroup = new ec2.SecurityGroup(this, "WebSecurityGroup", { vpc });
    securityGroup.connections.allowFrom(alb, ec2.Port.tcp(80), "from the load balancer");
    const role = new iam.Role(this, "WebInstanceRole", {
      assumedBy: new iam.ServicePrincipal("ec2.amazonaws.com"),
    });
    // The SSM agent's calls: AmazonSSMManagedInstanceCore's actions without its ssm:GetParameter(s) on
    // every parameter of the account (attaching that managed policy instead works too).
    for (const statement of ssmAgentPolicyStatements()) role.addToPrincipalPolicy(statement);
    const group = new autoscaling.AutoScalingGroup(this, "Web", {
      vpc,
      vpcSubnets: { subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS },
      launchTemplate: new ec2.LaunchTemplate(this, "WebLaunchTemplate", {
        instanceType: new ec2.InstanceType("t4g.small"),
        machineImage: ec2.MachineImage.latestAmazonLinux2023({ cpuType: ec2.AmazonLinuxCpuType.ARM_64 }),
        role,
        securityGroup,
        requireImdsv2: true,
      }),
      minCapacity: 2,
      maxCapacity: 4,
    });

    const targetGroup = new elbv2.ApplicationTargetGroup(this, "WebTargets", {
      vpc,
      port: 80,
      protocol: elbv2.ApplicationProtocol.HTTP,
      targetType: elbv2.TargetType.INSTANCE,
      targets: [group],
      healthCheck: { path: "/", interval: Duration.seconds(10), healthyThresholdCount: 2 },
    });
    listener.addTargetGroups("Web", { targetGroups: [targetGroup] });

    // The gate: the group and its target group are passed as they are; launchgate puts its launch hook
    // into the group itself and scopes its IAM to them. The config is validated at synth.
    this.gate = new LaunchGate(this, "LaunchGate", {
      config: {
        groups: [
          {
            name: group,
            targetGroups: [targetGroup],
            app: {
              projectName: "web",
              services: [
                {
                  name: "web",
                  image: "public.ecr.aws/nginx/nginx:1.27",
                  ports: ["80:80"],
                  useSecrets: false,
                },
              ],
              secretsParameterPath: "/web-service/env",
              healthCheckUrl: "http://127.0.0.1/",
            },
          },
        ],
      },
    });

    // The SSM agent streams each bootstrap's full output to the gate's log group with the instance role.
    const logGroup = (name: string) =>
      this.formatArn({
        service: "logs",
        resource: "log-group",
        resourceName: name,
        arnFormat: ArnFormat.COLON_RESOURCE_NAME,
      });
    const outputGroup = this.gate.commandOutput.logGroupName;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: [
          "logs:CreateLogGroup",
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
        ],
        resources: [logGroup(outputGroup), logGroup(`${outputGroup}:*`)],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ["logs:DescribeLogGroups"], resources: [logGroup("*")] }),
    );
    // The bootstrap always reads the app's secrets path (empty here: nothing is put there).
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ["ssm:GetParametersByPath"],
        resources: [
          this.formatArn({ service: "ssm", resource: "parameter", resourceName: "web-service/env" }),
        ],
      }),
    );
  }
}

const app = new App();
new WebServiceStack(app, "LaunchgateExample", { env: { region: "eu-west-2" } });
app.synth();
