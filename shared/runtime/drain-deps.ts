import { dynamodb, sqs } from "../aws/clients.js";
import type { DrainDeps } from "../drain/drain.js";
import { SqsDrainRechecks } from "../drain/rechecks.js";
import { DynamoDrainStore } from "../drain/store.js";
import type { GateDeps } from "../gate/deps.js";

let drainWiring: { readonly gate: GateDeps; readonly deps: DrainDeps } | undefined;

/** The drain's production wiring: the gate's clients and config, its own store and re-checks. */
export function productionDrainDeps(gate: GateDeps): DrainDeps {
  if (drainWiring?.gate !== gate) {
    const { config, now, log } = gate;
    const wiring = {
      config,
      now,
      log,
      drains: new DynamoDrainStore(dynamodb(), config.stateTableName),
      rechecks: new SqsDrainRechecks(sqs(), config.recheckQueueUrls.launch),
    };
    // The clients are getters on the gate's deps (created on first use): copy them by descriptor.
    const descriptors = Object.getOwnPropertyDescriptors(gate);
    drainWiring = {
      gate,
      deps: Object.defineProperties(wiring, {
        autoScaling: descriptors.autoScaling ?? {},
        ssm: descriptors.ssm ?? {},
        ssmCommands: descriptors.ssmCommands ?? {},
      }) as unknown as DrainDeps,
    };
  }
  return drainWiring.deps;
}
