import type { Random } from "../engine/random.js";
import { type PhysicalResource, SIM_ACCOUNT, SIM_REGION } from "./intrinsics.js";
import type { TemplateResource } from "./synthesize.js";

/**
 * SIMULATION — what CloudFormation "creates" for each resource: a generated physical name (stack name,
 * logical id, random suffix, as CloudFormation names unnamed resources) and what Ref and Fn::GetAtt
 * return for it. A resource type the world does not know throws: a new kind of resource in the stack
 * must be modelled (or declared inert here) before scenarios can pass.
 */

/**
 * Types that configure something the world models through other resources, or nothing it models. The
 * observability resources (alarms on the automation, their topic and key, the dashboard, saved queries)
 * watch the world from outside: nothing in it reads or calls them.
 */
const INERT = new Set([
  "AWS::SQS::QueuePolicy",
  "AWS::CDK::Metadata",
  "AWS::SNS::TopicPolicy",
  "AWS::SNS::Subscription",
  "AWS::CloudWatch::Dashboard",
  "AWS::Logs::QueryDefinition",
]);

export function createPhysical(
  logicalId: string,
  resource: TemplateResource,
  stackName: string,
  random: Random,
): PhysicalResource {
  const generated = (max: number) =>
    `${`${stackName}-${logicalId}`.slice(0, max - 13)}-${random.hex(12).toUpperCase()}`;
  const arn = (service: string, rest: string) => `arn:aws:${service}:${SIM_REGION}:${SIM_ACCOUNT}:${rest}`;
  const props = resource.Properties ?? {};
  switch (resource.Type) {
    case "AWS::SQS::Queue": {
      const name = generated(80);
      const url = `https://sqs.${SIM_REGION}.amazonaws.com/${SIM_ACCOUNT}/${name}`;
      return { ref: url, attributes: { Arn: arn("sqs", name), QueueName: name, QueueUrl: url } };
    }
    case "AWS::DynamoDB::GlobalTable":
    case "AWS::DynamoDB::Table": {
      const name = (props.TableName as string | undefined) ?? generated(255);
      return { ref: name, attributes: { Arn: arn("dynamodb", `table/${name}`) } };
    }
    case "AWS::Lambda::Function": {
      const name = (props.FunctionName as string | undefined) ?? generated(64);
      return { ref: name, attributes: { Arn: arn("lambda", `function:${name}`) } };
    }
    case "AWS::IAM::Role": {
      const name = (props.RoleName as string | undefined) ?? generated(64);
      return { ref: name, attributes: { Arn: `arn:aws:iam::${SIM_ACCOUNT}:role/${name}` } };
    }
    case "AWS::Logs::LogGroup": {
      const name = (props.LogGroupName as string | undefined) ?? `/aws/lambda/${generated(100)}`;
      return { ref: name, attributes: { Arn: arn("logs", `log-group:${name}:*`) } };
    }
    case "AWS::Events::Rule": {
      const name = (props.Name as string | undefined) ?? generated(64);
      return { ref: name, attributes: { Arn: arn("events", `rule/${name}`) } };
    }
    case "AWS::SSM::Document": {
      const name = (props.Name as string | undefined) ?? generated(128);
      return { ref: name, attributes: {} };
    }
    case "AWS::KMS::Key": {
      const id = random.hex(32);
      return { ref: id, attributes: { Arn: arn("kms", `key/${id}`), KeyId: id } };
    }
    case "AWS::SNS::Topic": {
      const name = (props.TopicName as string | undefined) ?? generated(256);
      return { ref: arn("sns", name), attributes: { TopicArn: arn("sns", name), TopicName: name } };
    }
    case "AWS::CloudWatch::Alarm": {
      const name = (props.AlarmName as string | undefined) ?? generated(255);
      return { ref: name, attributes: { Arn: arn("cloudwatch", `alarm:${name}`) } };
    }
    case "AWS::AutoScaling::LifecycleHook":
      return { ref: String(props.LifecycleHookName ?? generated(255)), attributes: {} };
    case "AWS::IAM::Policy":
    case "AWS::Lambda::Permission":
    case "AWS::Lambda::EventSourceMapping":
    case "AWS::Lambda::EventInvokeConfig":
      return { ref: `${logicalId}-${random.hex(8)}`, attributes: {} };
    default:
      if (INERT.has(resource.Type)) return { ref: logicalId, attributes: {} };
      throw new Error(
        `simulation: the template has a ${resource.Type} (${logicalId}) that the simulated world does not model`,
      );
  }
}
