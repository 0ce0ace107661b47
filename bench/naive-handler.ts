import { Logger } from "@aws-lambda-powertools/logger";
import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { SSMClient } from "@aws-sdk/client-ssm";

/**
 * BENCH — the cold-start baseline: what a straightforward lifecycle Lambda bundles (the three clients a
 * polling sample names and a logger, created at load), built the way esbuild does by default.
 */
const logger = new Logger({ serviceName: "naive" });
const clients = [new AutoScalingClient({}), new SSMClient({}), new ElasticLoadBalancingV2Client({})];

export const handler = async (event: unknown) => {
  logger.info("event", { event });
  return clients.length;
};
