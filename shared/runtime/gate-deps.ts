import {
  autoScaling,
  cloudwatch,
  dynamodb,
  elbv2,
  pollClients,
  sqs,
  ssm,
  ssmCommands,
} from "../aws/clients.js";
import { RUNTIME_CONFIG_ENV, readRuntimeConfig } from "../config/runtime-config.js";
import type { GateDeps } from "../gate/deps.js";
import { log } from "../logger.js";
import type { OpsDeps } from "../ops/advance-operation.js";
import { DynamoGateStore } from "../store/dynamo-gate-store.js";
import { DynamoOperationStore } from "../store/dynamo-operation-store.js";
import { DynamoWatchStore } from "../store/dynamo-watch-store.js";
import { SqsRecheckScheduler, SqsWatchMessages } from "../store/sqs-recheck-scheduler.js";

let gate: { readonly raw: string | undefined; readonly deps: GateDeps } | undefined;
let ops: { readonly gate: GateDeps; readonly deps: OpsDeps } | undefined;
let watching: { readonly gate: GateDeps; readonly deps: GateDeps } | undefined;

/**
 * The AWS clients as getters: a client is created when an invocation first calls it (see
 * aws/clients.ts). Copied onto deps objects by descriptor, never by spreading, which would call them.
 */
const LAZY_GATE_CLIENTS = /* @__PURE__ */ Object.getOwnPropertyDescriptors({
  get autoScaling() {
    return autoScaling();
  },
  get ssm() {
    return ssm();
  },
  get ssmCommands() {
    return ssmCommands();
  },
  get elbv2() {
    return elbv2();
  },
  get polls() {
    return pollClients();
  },
});
const LAZY_OPS_CLIENTS = /* @__PURE__ */ Object.getOwnPropertyDescriptors({
  get cloudwatch() {
    return cloudwatch();
  },
});

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
    gate = { raw, deps: Object.defineProperties(gateWiring(config), LAZY_GATE_CLIENTS) as GateDeps };
  }
  return gate.deps;
}

/** Everything in GateDeps but the AWS clients. */
function gateWiring(
  config: GateDeps["config"],
): Omit<GateDeps, "autoScaling" | "ssm" | "ssmCommands" | "elbv2" | "polls"> {
  return {
    config,
    store: new DynamoGateStore(dynamodb(), config.stateTableName),
    rechecks: new SqsRecheckScheduler(sqs(), config.recheckQueueUrls),
    // Read the clock at each call (not a captured Date.now), so a substituted clock is honoured.
    now: () => Date.now(),
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    log,
  };
}

/**
 * The gate's wiring plus the groups' watches (gate/watch): for the functions that poll for a wait and
 * run its watch — launch (the agent) and command-result (health). The others poll at the wait's own pace.
 */
export function productionWatchingDeps(): GateDeps {
  const base = productionDeps();
  if (watching === undefined || watching.gate !== base) {
    // Named fields only: spreading `base` would call its client getters; its clients are copied by
    // descriptor, as own properties, which is how the drain's wiring finds them.
    const { config, store, rechecks, now, sleep, log } = base;
    const watch = {
      store: new DynamoWatchStore(dynamodb(), config.stateTableName),
      messages: new SqsWatchMessages(sqs(), config.recheckQueueUrls),
    };
    const wiring = { config, store, rechecks, now, sleep, log, watch };
    watching = {
      gate: base,
      deps: Object.defineProperties(wiring, LAZY_GATE_CLIENTS) as unknown as GateDeps,
    };
  }
  return watching.deps;
}

/**
 * The gate's wiring plus what maintenance operations (re-bootstrap, remediation) need. Kept apart so
 * the launch-gate functions do not bundle the CloudWatch client and the operations store.
 */
export function productionOpsDeps(): OpsDeps {
  const base = productionDeps();
  if (ops === undefined || ops.gate !== base) {
    // Named fields only: spreading `base` would call its client getters.
    const { config, store, rechecks, now, sleep, log } = base;
    const wiring = {
      config,
      store,
      rechecks,
      now,
      sleep,
      log,
      operations: new DynamoOperationStore(dynamodb(), config.operationsTableName),
    };
    const descriptors = { ...LAZY_GATE_CLIENTS, ...LAZY_OPS_CLIENTS };
    ops = { gate: base, deps: Object.defineProperties(wiring, descriptors) as unknown as OpsDeps };
  }
  return ops.deps;
}
