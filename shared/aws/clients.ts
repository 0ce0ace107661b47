import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";

/**
 * SDK clients, created once per Lambda container so connections are reused across invocations.
 * Domain code never imports this module: handlers pass the clients in (see gate/deps.ts).
 *
 * Retries: AWS publishes no TPS quotas for SendCommand, GetCommandInvocation or
 * DescribeInstanceInformation (docs/aws-facts.md, SSM Run Command), and a burst of launches hits the same APIs at once, so
 * every client uses the SDK's adaptive mode (client-side rate limiting on throttling) with more
 * attempts than the default 3.
 */
// `@__PURE__` lets esbuild drop a client (and its whole package) from a bundle that never uses it.
export const SDK_RETRY = { retryMode: "adaptive", maxAttempts: 6 } as const;

export const autoScaling = /* @__PURE__ */ new AutoScalingClient(SDK_RETRY);
export const ssm = /* @__PURE__ */ new SSMClient(SDK_RETRY);
/**
 * For SendCommand only: no automatic retries. SendCommand has no idempotency token, so the SDK
 * retrying a 5xx or a timeout could start a second bootstrap when the first request did go through.
 * The gate retries throttling itself and, when the outcome is unknown, looks for the command before
 * sending again (see classifySendError).
 */
export const ssmCommands = /* @__PURE__ */ new SSMClient({ ...SDK_RETRY, maxAttempts: 1 });
export const elbv2 = /* @__PURE__ */ new ElasticLoadBalancingV2Client(SDK_RETRY);
export const dynamodb = /* @__PURE__ */ new DynamoDBClient(SDK_RETRY);
export const sqs = /* @__PURE__ */ new SQSClient(SDK_RETRY);
export const cloudwatch = /* @__PURE__ */ new CloudWatchClient(SDK_RETRY);
