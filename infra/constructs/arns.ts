import { ArnFormat, Stack } from "aws-cdk-lib";
import type { Construct } from "constructs";

/** ARNs for IAM resources, in this stack's partition, region and account (docs/aws-facts.md, IAM scoping). */

/** arn:…:autoscaling:REGION:ACCOUNT:autoScalingGroup:*:autoScalingGroupName/NAME */
export function groupArn(scope: Construct, groupName: string): string {
  return Stack.of(scope).formatArn({
    service: "autoscaling",
    resource: "autoScalingGroup",
    resourceName: `*:autoScalingGroupName/${groupName}`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
}

/** arn:…:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/* — every target group with that name. */
export function targetGroupArnPattern(scope: Construct, targetGroupName: string): string {
  return Stack.of(scope).formatArn({
    service: "elasticloadbalancing",
    resource: "targetgroup",
    resourceName: `${targetGroupName}/*`,
  });
}

export function ssmDocumentArn(scope: Construct, documentName: string): string {
  return Stack.of(scope).formatArn({ service: "ssm", resource: "document", resourceName: documentName });
}
