import { SIM_ACCOUNT, SIM_REGION } from "../deploy/intrinsics.js";
import type { AccessRequest } from "../deploy/policy.js";

/**
 * SIMULATION — what IAM evaluates for each API call a handler makes: the action, every resource the
 * call touches (as ARNs), and the condition keys the model knows (docs/aws-facts.md, IAM scoping). APIs without
 * resource-level permissions are requested on "*".
 */

export interface ResourceDirectory {
  groupArn(groupName: string): string;
  groupOfInstance(instanceId: string): string | undefined;
  queueArn(queueUrl: string): string;
  /** A table's partition key attribute (undefined: no such table). */
  partitionKeyOf(tableName: string): string | undefined;
}

const SERVICE: Readonly<Record<string, string>> = {
  DescribeAutoScalingInstances: "autoscaling",
  DescribeAutoScalingGroups: "autoscaling",
  DescribeWarmPool: "autoscaling",
  CompleteLifecycleAction: "autoscaling",
  RecordLifecycleActionHeartbeat: "autoscaling",
  SetInstanceHealth: "autoscaling",
  SetDesiredCapacity: "autoscaling",
  DescribeInstanceInformation: "ssm",
  SendCommand: "ssm",
  GetCommandInvocation: "ssm",
  ListCommands: "ssm",
  DescribeTargetHealth: "elasticloadbalancing",
  DescribeTargetGroups: "elasticloadbalancing",
  DescribeLoadBalancers: "elasticloadbalancing",
  RegisterTargets: "elasticloadbalancing",
  DeregisterTargets: "elasticloadbalancing",
  GetItem: "dynamodb",
  PutItem: "dynamodb",
  DeleteItem: "dynamodb",
  UpdateItem: "dynamodb",
  BatchGetItem: "dynamodb",
  SendMessage: "sqs",
  SendMessageBatch: "sqs",
  DescribeAlarms: "cloudwatch",
};

/**
 * APIs authorized by another action's name: SQS has no permission of its own for a batch send;
 * sqs:SendMessage covers SendMessageBatch (docs/aws-facts.md, Lambda, EventBridge and SQS delivery).
 */
const IAM_ACTION_OF: Readonly<Record<string, string>> = { SendMessageBatch: "SendMessage" };

const arn = (service: string, rest: string) => `arn:aws:${service}:${SIM_REGION}:${SIM_ACCOUNT}:${rest}`;

export function accessRequests(
  api: string,
  input: Record<string, unknown>,
  directory: ResourceDirectory,
): AccessRequest[] {
  const service = SERVICE[api];
  if (!service) throw new Error(`simulation: no IAM mapping for ${api}`);
  const action = `${service}:${IAM_ACTION_OF[api] ?? api}`;
  const on = (resource: string, context: Record<string, string | undefined> = {}): AccessRequest => ({
    action,
    resource,
    context,
  });
  switch (api) {
    case "CompleteLifecycleAction":
    case "RecordLifecycleActionHeartbeat":
    case "SetDesiredCapacity":
      return [on(directory.groupArn(String(input.AutoScalingGroupName)))];
    case "SetInstanceHealth": {
      const group = directory.groupOfInstance(String(input.InstanceId));
      return [on(group ? directory.groupArn(group) : arn("autoscaling", "autoScalingGroup:*"))];
    }
    case "SendCommand":
      return [
        on(arn("ssm", `document/${String(input.DocumentName)}`)),
        ...((input.InstanceIds as string[] | undefined) ?? []).map((id) =>
          on(arn("ec2", `instance/${id}`), {
            "ssm:resourceTag/aws:autoscaling:groupName": directory.groupOfInstance(id),
          }),
        ),
      ];
    case "RegisterTargets":
    case "DeregisterTargets":
      return [on(String(input.TargetGroupArn))];
    case "GetItem":
    case "PutItem":
    case "DeleteItem":
    case "UpdateItem": {
      // The partition key of the item, as IAM's dynamodb:LeadingKeys sees it (single-key tables here).
      const item = (input.Key ?? input.Item) as Record<string, { S?: string }> | undefined;
      const keyAttribute = directory.partitionKeyOf(String(input.TableName));
      const leading = keyAttribute === undefined ? undefined : item?.[keyAttribute]?.S;
      return [on(arn("dynamodb", `table/${String(input.TableName)}`), { "dynamodb:LeadingKeys": leading })];
    }
    case "BatchGetItem":
      return Object.keys((input.RequestItems as object | undefined) ?? {}).map((table) =>
        on(arn("dynamodb", `table/${table}`)),
      );
    case "SendMessage":
    case "SendMessageBatch":
      return [on(directory.queueArn(String(input.QueueUrl)))];
    case "DescribeAlarms": {
      const names = (input.AlarmNames as string[] | undefined) ?? [];
      return names.length === 0
        ? [on(arn("cloudwatch", "alarm:*"))]
        : names.map((n) => on(arn("cloudwatch", `alarm:${n}`)));
    }
    default:
      return [on("*")];
  }
}

/** The error code each service's protocol uses for a denied call. */
export function accessDeniedCode(api: string): string {
  const service = SERVICE[api];
  return service === "autoscaling" || service === "elasticloadbalancing" || service === "cloudwatch"
    ? "AccessDenied"
    : "AccessDeniedException";
}
