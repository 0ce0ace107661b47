import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SQSClient } from "@aws-sdk/client-sqs";
import { SSMClient } from "@aws-sdk/client-ssm";

/**
 * SDK clients, each created on first use and then kept for the life of the Lambda container, so
 * connections are reused across invocations and a function never pays (at cold start or after) for a
 * client its invocations do not call. Domain code never imports this module: handlers pass the
 * clients in (see gate/deps.ts).
 *
 * Retries: AWS publishes no TPS quotas for SendCommand, GetCommandInvocation or
 * DescribeInstanceInformation (docs/aws-facts.md, SSM Run Command), and a burst of launches hits the same APIs at once, so
 * every client uses the SDK's adaptive mode (client-side rate limiting on throttling) with more
 * attempts than the default 3.
 */
export const SDK_RETRY = { retryMode: "adaptive", maxAttempts: 6 } as const;

/** A factory that builds its value on the first call and returns that same value after. */
function once<T>(make: () => T): () => T {
  let made: { readonly value: T } | undefined;
  return () => {
    made ??= { value: make() };
    return made.value;
  };
}

export const autoScaling = /* @__PURE__ */ once(() => new AutoScalingClient(SDK_RETRY));
export const ssm = /* @__PURE__ */ once(() => new SSMClient(SDK_RETRY));
/**
 * For SendCommand only: no automatic retries. SendCommand has no idempotency token, so the SDK
 * retrying a 5xx or a timeout could start a second bootstrap when the first request did go through.
 * The gate retries throttling itself and, when the outcome is unknown, looks for the command before
 * sending again (see classifySendError).
 */
export const ssmCommands = /* @__PURE__ */ once(() => new SSMClient({ ...SDK_RETRY, maxAttempts: 1 }));
export const elbv2 = /* @__PURE__ */ once(() => new ElasticLoadBalancingV2Client(SDK_RETRY));
/**
 * For the gate's polls (the agent's ping, target health): two attempts, so a lone throttle or 5xx is
 * absorbed. Past that a throttled poll is the step's "not yet", and its next look is the retry, at a
 * stretched pace (gate/batch-reads.ts): six attempts would spend an account-wide, already saturated
 * budget (Auto Scaling, SSM and ELB throttle per account and Region: docs/aws-facts.md, API throttling)
 * on an answer the next look brings anyway. `npm run bench` measured 1, 2 and 6 attempts with 60 % of
 * the control plane's attempts throttled: two made the fewest calls (one: more rounds, each with its
 * re-check; six: more attempts per look).
 */
export const POLL_ATTEMPTS = 2;
export const pollClients = /* @__PURE__ */ once(() => ({
  ssm: new SSMClient({ ...SDK_RETRY, maxAttempts: POLL_ATTEMPTS }),
  elbv2: new ElasticLoadBalancingV2Client({ ...SDK_RETRY, maxAttempts: POLL_ATTEMPTS }),
}));
export const dynamodb = /* @__PURE__ */ once(() => new DynamoDBClient(SDK_RETRY));
export const sqs = /* @__PURE__ */ once(() => new SQSClient(SDK_RETRY));
export const cloudwatch = /* @__PURE__ */ once(() => new CloudWatchClient(SDK_RETRY));
