import { autoScaling, cloudwatch, dynamodb, elbv2, sqs, ssm, ssmCommands } from "../aws/clients.js";
import { RUNTIME_CONFIG_ENV, readRuntimeConfig } from "../config/runtime-config.js";
import type { GateDeps } from "../gate/deps.js";
import { logger } from "../logger.js";
import type { OpsDeps } from "../ops/advance-operation.js";
import { DynamoGateStore } from "../store/dynamo-gate-store.js";
import { DynamoOperationStore } from "../store/dynamo-operation-store.js";
import { SqsRecheckScheduler } from "../store/sqs-recheck-scheduler.js";

let gate: { readonly raw: string | undefined; readonly deps: GateDeps } | undefined;
let ops: { readonly gate: GateDeps; readonly deps: OpsDeps } | undefined;

/**
 * The launch gate's production wiring, built on first use (not at import, so a broken
 * LAUNCHGATE_RUNTIME surfaces as an error with its message on the first event, not as an init crash)
 * and rebuilt only if the runtime config changes — never in Lambda; in the simulation, between
 * scenarios.
 */
export function productionDeps(): GateDeps {
  const raw = process.env[RUNTIME_CONFIG_ENV];
  if (gate === undefined || gate.raw !== raw) {
    const config = readRuntimeConfig();
    gate = {
      raw,
      deps: {
        config,
        autoScaling,
        ssm,
        ssmCommands,
        elbv2,
        store: new DynamoGateStore(dynamodb, config.stateTableName),
        rechecks: new SqsRecheckScheduler(sqs, config.recheckQueueUrls),
        // Read the clock at each call (not a captured Date.now), so a substituted clock is honoured.
        now: () => Date.now(),
        sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
        log: {
          info: (message, extra = {}) => logger.info(message, extra),
          warn: (message, extra = {}) => logger.warn(message, extra),
          error: (message, extra = {}) => logger.error(message, extra),
        },
      },
    };
  }
  return gate.deps;
}

/**
 * The gate's wiring plus what maintenance operations (re-bootstrap, remediation) need. Kept apart so
 * the launch-gate functions do not bundle the CloudWatch client and the operations store.
 */
export function productionOpsDeps(): OpsDeps {
  const base = productionDeps();
  if (ops === undefined || ops.gate !== base) {
    ops = {
      gate: base,
      deps: {
        ...base,
        operations: new DynamoOperationStore(dynamodb, base.config.operationsTableName),
        cloudwatch,
      },
    };
  }
  return ops.deps;
}
