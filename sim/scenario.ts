import type { GroupConfig, RemediationConfig } from "../shared/config/schema.js";
import type { ApiFaults } from "./aws/route-clients.js";
import type { Random } from "./engine/random.js";
import type { SimWarmPool } from "./models/auto-scaling.js";
import type { EventFaults } from "./models/eventbridge.js";
import type { LambdaFaults } from "./models/lambda.js";
import type { World } from "./world.js";
import type { InstanceBehaviour } from "./world-context.js";

/** SIMULATION — what a scenario scripts: the groups, how each launch behaves, faults, and timed actions. */

export interface HealthCheckSpec {
  readonly intervalSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
}

export interface TargetGroupSpec {
  readonly name: string;
  /** @default ALB defaults: 30 s interval, 5 healthy, 2 unhealthy (docs/aws-facts.md, load balancer registration and target health) */
  readonly healthCheck?: HealthCheckSpec;
  /** The target group's deregistration delay attribute. @default 300 (AWS's default) */
  readonly deregistrationDelaySeconds?: number;
}

/** Faults in how events and invocations reach the functions. */
export type DeliveryFaults = EventFaults & LambdaFaults;

export interface GroupSpec {
  readonly name: string;
  readonly targetGroupName: string;
  /** Several target groups attached to the group (overrides targetGroupName and healthCheck). */
  readonly targetGroups?: readonly TargetGroupSpec[];
  /** Instances already InService (and healthy) when the scenario starts. */
  readonly servingAtStart: number;
  /** Desired capacity set at `scaleAtSeconds`. */
  readonly scaleTo: number;
  readonly scaleAtSeconds?: number;
  /** @default enough for the scale-out plus 3 replacements */
  readonly maxLaunches?: number;
  /** @default ALB defaults: 30 s interval, 5 healthy, 2 unhealthy (docs/aws-facts.md, load balancer registration and target health) */
  readonly healthCheck?: HealthCheckSpec;
  /** @default all three zones of eu-west-2 */
  readonly loadBalancerZones?: readonly string[];
  /**
   * How launch number `index` (0-based, in this group) behaves; timings drawn from distributions fill
   * the rest. `random` is the world's seeded randomness, for chaos that varies per seed.
   */
  readonly behaviour?: (index: number, random: Random) => Partial<InstanceBehaviour>;
  /**
   * Remediation config for the group. Each alarm named is simulated as an UnHealthyHostCount alarm on
   * the group's first target group (ALARM after 2 breaching minutes), unless `instanceAlarms` says it
   * watches one instance.
   */
  readonly remediation?: Partial<RemediationConfig>;
  /**
   * Alarms (named in `remediation.alarms`) on one serving instance's own metric instead of the target
   * group's UnHealthyHostCount: they breach when a scenario action says so, and name the instance.
   */
  readonly instanceAlarms?: readonly { readonly name: string; readonly servingIndex: number }[];
  /**
   * Alarms (named in `remediation.alarms`) that are composite: in ALARM while any of `of` is, each of
   * those an UnHealthyHostCount alarm on the group's first target group.
   */
  readonly compositeAlarms?: readonly { readonly name: string; readonly of: readonly string[] }[];
  /**
   * A warm pool for the group, filled at the start: `minSize` instances launched into it, each prepared
   * through the gate, then stopped, or kept running for `poolState` Running (sim/models/auto-scaling.ts).
   */
  readonly warmPool?: SimWarmPool;
  /**
   * The group's gate timings in config (hook heartbeat, deadlines, and the drain limit: `drain` turns on
   * graceful drain on scale-in); defaults: the config's.
   */
  readonly timing?: Partial<
    Pick<
      GroupConfig,
      | "heartbeatTimeoutSeconds"
      | "gateTimeoutSeconds"
      | "agentTimeoutSeconds"
      | "bootstrapTimeoutSeconds"
      | "drain"
    >
  >;
}

export interface ScenarioAction {
  readonly atSeconds: number;
  readonly describe: string;
  readonly run: (world: World) => void | Promise<void>;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  readonly groups: readonly GroupSpec[];
  readonly apiFaults?: ApiFaults;
  readonly deliveryFaults?: DeliveryFaults;
  readonly actions?: readonly ScenarioAction[];
  /** @default 3600 */
  readonly limitSeconds?: number;
  /** @default 42 */
  readonly seed?: number;
  /** Track the fewest healthy serving targets per group from this second on (costly: opt in). */
  readonly trackCapacityFromSeconds?: number;
  /** Seconds a serving instance's app is down when a re-bootstrap restarts it. @default 5 */
  readonly restartSeconds?: number;
  /**
   * The bootstrap documents have `count` versions (the stack was updated `count - 1` times); a command
   * of a `failing` version fails at pull-images, as a deploy of a bad image tag would.
   * @default one version, none failing
   */
  readonly documentVersions?: { readonly count: number; readonly failing?: readonly number[] };
  /** The deployment's `pollIntervalSeconds` (how often the watches look). @default the config's default */
  readonly pollIntervalSeconds?: { readonly agent: number; readonly health: number };
}

/** The reference deployment's group, as the default config names it. */
export const CNT_GROUP: GroupSpec = {
  name: "cnt-backend-asg",
  targetGroupName: "cnt-backend-tg",
  servingAtStart: 1,
  scaleTo: 3,
};
