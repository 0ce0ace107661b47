import { readFileSync } from "node:fs";
import { join } from "node:path";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { IAMClient } from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SSMClient } from "@aws-sdk/client-ssm";
import { CONFIG_FILE_CONTEXT_KEY, loadConfig } from "../infra/config/load-config.js";
import { SDK_RETRY } from "../shared/aws/clients.js";
import type { GroupConfig, LaunchgateConfig } from "../shared/config/schema.js";
import { CliError, EXIT } from "./errors.js";

/** What every command works with: the validated config, AWS clients, and the deployed stack's outputs. */
export interface CliContext {
  readonly config: LaunchgateConfig;
  readonly clients: CliClients;
  readonly outputs: () => Promise<StackOutputs>;
  readonly now: () => number;
}

export interface CliClients {
  readonly autoScaling: AutoScalingClient;
  readonly cloudFormation: CloudFormationClient;
  readonly cloudwatch: CloudWatchClient;
  readonly dynamodb: DynamoDBClient;
  readonly ec2: EC2Client;
  readonly elbv2: ElasticLoadBalancingV2Client;
  readonly eventBridge: EventBridgeClient;
  readonly iam: IAMClient;
  readonly lambda: LambdaClient;
  readonly ssm: SSMClient;
}

export interface StackOutputs {
  readonly gateStateTable: string;
  readonly operationsTable: string;
  readonly rebootstrapFunctionName: string;
  readonly failureQueueUrl: string;
}

/** The config the CDK app would use: `--config FILE`, else cdk.json's context, else the default. */
export function readCliConfig(configFile: string | undefined, cwd = process.cwd()): LaunchgateConfig {
  let context: Record<string, unknown> = {};
  try {
    context = JSON.parse(readFileSync(join(cwd, "cdk.json"), "utf8")).context ?? {};
  } catch {
    // No cdk.json here: the built-in default (or --config) applies.
  }
  return loadConfig((key) =>
    configFile !== undefined ? (key === CONFIG_FILE_CONTEXT_KEY ? configFile : undefined) : context[key],
  );
}

/** Clients in the config's region (or `--region`), with the same retries as the functions. */
export function createClients(region: string): CliClients {
  const options = { region, ...SDK_RETRY };
  return {
    autoScaling: new AutoScalingClient(options),
    cloudFormation: new CloudFormationClient(options),
    cloudwatch: new CloudWatchClient(options),
    dynamodb: new DynamoDBClient(options),
    ec2: new EC2Client(options),
    elbv2: new ElasticLoadBalancingV2Client(options),
    eventBridge: new EventBridgeClient(options),
    iam: new IAMClient(options),
    lambda: new LambdaClient(options),
    ssm: new SSMClient(options),
  };
}

/** Reads the stack's outputs once (the resource names the commands need). */
export function stackOutputsReader(
  clients: CliClients,
  stackName: string,
  region: string,
): () => Promise<StackOutputs> {
  let cached: Promise<StackOutputs> | undefined;
  return () => {
    cached ??= (async () => {
      let outputs: Record<string, string>;
      try {
        const { Stacks } = await clients.cloudFormation.send(
          new DescribeStacksCommand({ StackName: stackName }),
        );
        outputs = Object.fromEntries(
          (Stacks?.[0]?.Outputs ?? []).map((o) => [o.OutputKey ?? "", o.OutputValue ?? ""]),
        );
      } catch (error) {
        if (/does not exist/.test((error as Error).message)) {
          throw new CliError(
            `stack ${stackName} is not deployed in ${region}: deploy it (npx cdk deploy) or pass --stack / --region`,
          );
        }
        throw error;
      }
      const required = (key: string) => {
        const value = outputs[key];
        if (!value)
          throw new CliError(
            `stack ${stackName} has no output ${key}: redeploy it with this version of launchgate`,
          );
        return value;
      };
      return {
        gateStateTable: required("GateStateTable"),
        operationsTable: required("OperationsTable"),
        rebootstrapFunctionName: required("RebootstrapFunctionName"),
        failureQueueUrl: required("FailureQueueUrl"),
      };
    })();
    return cached;
  };
}

/** The configured groups a command applies to: one by name (refusing an unknown one), or all. */
export function selectGroups(config: LaunchgateConfig, name: string | undefined): GroupConfig[] {
  if (name === undefined) return [...config.groups];
  const group = config.groups.find((candidate) => candidate.name === name);
  if (!group) {
    // A usage error: the config says which groups exist, so this is settled before any AWS call.
    throw new CliError(
      `unknown group "${name}": launchgate manages ${config.groups.map((g) => g.name).join(", ")}`,
      EXIT.usage,
    );
  }
  return [group];
}
