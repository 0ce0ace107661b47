import { autoScaling, dynamodb, elbv2, sqs, ssm } from "../aws/clients.js";
import { readRuntimeConfig } from "../config/runtime-config.js";
import type { GateDeps } from "../gate/deps.js";
import { logger } from "../logger.js";
import { DynamoGateStore } from "../store/dynamo-gate-store.js";
import { SqsRecheckScheduler } from "../store/sqs-recheck-scheduler.js";

let cached: GateDeps | undefined;

/**
 * The production wiring, built once per Lambda container on first use (not at import, so a broken
 * LAUNCHGATE_RUNTIME surfaces as an error on the first event with the message, not an init crash).
 */
export function productionDeps(): GateDeps {
  if (cached === undefined) {
    const config = readRuntimeConfig();
    cached = {
      config,
      autoScaling,
      ssm,
      elbv2,
      store: new DynamoGateStore(dynamodb, config.stateTableName),
      rechecks: new SqsRecheckScheduler(sqs, config.recheckQueueUrls),
      now: Date.now,
      log: {
        info: (message, extra = {}) => logger.info(message, extra),
        warn: (message, extra = {}) => logger.warn(message, extra),
        error: (message, extra = {}) => logger.error(message, extra),
      },
    };
  }
  return cached;
}
