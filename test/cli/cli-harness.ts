import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import { EC2Client } from "@aws-sdk/client-ec2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { IAMClient } from "@aws-sdk/client-iam";
import { LambdaClient } from "@aws-sdk/client-lambda";
import { SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { vi } from "vitest";
import { type CliContext, createClients } from "../../cli/context.js";
import { main } from "../../cli/main.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";

/** 2026-11-28T06:00:00Z: "now" for every CLI test, so relative times render the same every run. */
export const NOW = Date.UTC(2026, 10, 28, 6, 0, 0);

/** A CLI context over mocked AWS clients (each test file gets fresh mocks per call). */
export function cliHarness() {
  const mocks = {
    autoScaling: mockClient(AutoScalingClient),
    cloudFormation: mockClient(CloudFormationClient),
    cloudwatch: mockClient(CloudWatchClient),
    dynamodb: mockClient(DynamoDBClient),
    ec2: mockClient(EC2Client),
    elbv2: mockClient(ElasticLoadBalancingV2Client),
    eventBridge: mockClient(EventBridgeClient),
    iam: mockClient(IAMClient),
    lambda: mockClient(LambdaClient),
    ssm: mockClient(SSMClient),
  };
  // No operation in flight unless a test says otherwise (status reads them with a Scan).
  mocks.dynamodb.on(ScanCommand).resolves({ Items: [] });
  const config = parseConfig({});
  const ctx: CliContext = {
    config,
    clients: createClients("eu-west-2"),
    outputs: async () => ({
      gateStateTable: "gate-state",
      operationsTable: "operations",
      rebootstrapFunctionName: "launchgate-rebootstrap",
      failureQueueUrl: "https://sqs/failures",
    }),
    now: () => NOW,
  };
  const printed: string[] = [];
  return { ctx, mocks, printed, print: (line: string) => printed.push(line) };
}

/**
 * Runs `launchgate ARGV` through main() over a harness's mocked clients. `context` records whether
 * (and with which config) the CLI asked for AWS clients: never, when it stopped at a usage error.
 */
export async function runCli(argv: readonly string[], harness = cliHarness()) {
  const stdout: string[] = [];
  const stderr: string[] = [];
  const context = vi.fn((_config: LaunchgateConfig) => harness.ctx);
  const code = await main(
    argv,
    { print: (line) => stdout.push(line), sleep: async () => {}, context },
    (line) => stderr.push(line),
  );
  return { code, stdout, stderr, context, mocks: harness.mocks };
}

/** The name of every command any mocked client received. */
export function awsCalls(mocks: ReturnType<typeof cliHarness>["mocks"]): string[] {
  return Object.values(mocks).flatMap((mock) =>
    mock.calls().map((call) => String((call.args[0] as object).constructor.name)),
  );
}
