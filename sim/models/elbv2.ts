import type {
  DeregisterTargetsCommandInput,
  DescribeLoadBalancersCommandInput,
  DescribeLoadBalancersCommandOutput,
  DescribeTargetGroupsCommandInput,
  DescribeTargetGroupsCommandOutput,
  DescribeTargetHealthCommandInput,
  DescribeTargetHealthCommandOutput,
  RegisterTargetsCommandInput,
  TargetHealth,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { awsError } from "../aws/sdk-errors.js";
import { Random } from "../engine/random.js";
import type { WorldContext } from "../world-context.js";
import type { SimInstance } from "./auto-scaling.js";

/**
 * SIMULATION — Elastic Load Balancing v2 target health (docs/aws-facts.md, load balancer registration and target health):
 * - health checks run on the load balancer's own clock: every `interval` seconds, at a phase of each
 *   target's own (drawn at random as it registers), not timed to registration, to the other targets or
 *   to anyone's polling. One stream of checks per target is a simplification (docs/aws-facts.md): "each
 *   load balancer node checks the health of each target", and how DescribeTargetHealth combines the
 *   nodes' views is not documented;
 * - a newly registered target is `initial` until its first check: one pass makes it `healthy` ("it must
 *   pass one health check to be considered healthy"); `unhealthyThreshold` fails in a row make it
 *   `unhealthy`, and from there `healthyThreshold` passes in a row make it healthy again;
 * - `unused / Target.NotInUse` when the instance's zone is not enabled on the load balancer, or no
 *   load balancer uses the group;
 * - `unused / Target.NotRegistered` for a few seconds after RegisterTargets (eventual consistency;
 *   uniform 2–10 s is a guess);
 * - `draining` for the target group's deregistration delay (its attribute; AWS's default is 300 s) after
 *   DeregisterTargets. The load balancer ends it early when no connection is left (docs/aws-facts.md,
 *   terminate lifecycle hooks); connections are not modelled, so it always lasts the whole delay.
 */

export interface SimTargetGroup {
  readonly arn: string;
  readonly name: string;
  readonly port: number;
  readonly intervalSeconds: number;
  readonly healthyThreshold: number;
  readonly unhealthyThreshold: number;
  readonly loadBalancerArns: readonly string[];
  /** The target group's `deregistration_delay.timeout_seconds` attribute (AWS default: 300). */
  readonly deregistrationDelaySeconds: number;
}

export interface SimLoadBalancer {
  readonly arn: string;
  readonly name: string;
  readonly zones: readonly string[];
}

interface SimTarget {
  readonly instance: SimInstance;
  readonly port: number;
  readonly registeredAt: number;
  readonly visibleAt: number;
  /** Where in the interval this target's checks fall (ms after each multiple of the interval). */
  readonly phaseMs: number;
  deregisteredAt?: number;
}

export class Elbv2Model {
  readonly targetGroups = new Map<string, SimTargetGroup>();
  readonly loadBalancers = new Map<string, SimLoadBalancer>();
  private readonly targets = new Map<string, Map<string, SimTarget>>();
  /** How many times each instance registered with each target group ("<group arn> <instance id>"). */
  private readonly registrations = new Map<string, number>();

  constructor(
    private readonly world: WorldContext,
    /** Whether the instance's app answers health checks at a given time. */
    private readonly appHealthyAt: (instance: SimInstance, at: number) => boolean,
  ) {}

  addTargetGroup(tg: SimTargetGroup): void {
    this.targetGroups.set(tg.arn, tg);
    this.targets.set(tg.arn, new Map());
  }

  addLoadBalancer(lb: SimLoadBalancer): void {
    this.loadBalancers.set(lb.arn, lb);
  }

  /** Registers a target as if long ago (an instance serving before the scenario starts). */
  seedRegistered(tgArn: string, instance: SimInstance): void {
    const tg = this.required(tgArn);
    const past = this.world.clock.now() - 3_600_000;
    this.targetsOf(tgArn).set(instance.id, {
      instance,
      port: tg.port,
      registeredAt: past,
      visibleAt: past,
      phaseMs: this.drawnPhase(tg, instance.id),
    });
  }

  register(tgArn: string, instance: SimInstance, port: number, by: string): void {
    const existing = this.targetsOf(tgArn).get(instance.id);
    if (existing && existing.deregisteredAt === undefined) return;
    const now = this.world.clock.now();
    this.targetsOf(tgArn).set(instance.id, {
      instance,
      port,
      registeredAt: now,
      visibleAt: now + Math.round(this.world.random.uniform(2000, 10_000)),
      phaseMs: this.drawnPhase(this.required(tgArn), instance.id),
    });
    this.world.note("elb", `registered with ${this.required(tgArn).name} by ${by}`, instance.id);
  }

  deregister(tgArn: string, instanceId: string, by: string): void {
    const target = this.targetsOf(tgArn).get(instanceId);
    if (!target || target.deregisteredAt !== undefined) return;
    target.deregisteredAt = this.world.clock.now();
    this.world.note("elb", `deregistered from ${this.required(tgArn).name} by ${by} (draining)`, instanceId);
  }

  /**
   * Where in the group's interval a registration's checks fall: anywhere (the load balancer's own
   * schedule). Drawn from a stream of its own, keyed by the target group, the instance and which of its
   * registrations this is, not from the world's: drawing a phase takes nothing from the world's stream,
   * and a registration has the same phase whenever a gate change makes it happen.
   */
  private drawnPhase(tg: SimTargetGroup, instanceId: string): number {
    const key = `${tg.arn} ${instanceId}`;
    const nth = (this.registrations.get(key) ?? 0) + 1;
    this.registrations.set(key, nth);
    return Math.floor(Random.keyed(`${key} ${nth}`).uniform(0, tg.intervalSeconds * 1000));
  }

  /** The target's health as DescribeTargetHealth would report it now (or at an earlier time `at`). */
  healthOf(tgArn: string, instanceId: string, at?: number): TargetHealth {
    const tg = this.required(tgArn);
    const target = this.targetsOf(tgArn).get(instanceId);
    const now = at ?? this.world.clock.now();
    if (!target || now < target.visibleAt) return { State: "unused", Reason: "Target.NotRegistered" };
    if (target.deregisteredAt !== undefined && target.deregisteredAt <= now) {
      return now - target.deregisteredAt < tg.deregistrationDelaySeconds * 1000
        ? { State: "draining", Reason: "Target.DeregistrationInProgress" }
        : { State: "unused", Reason: "Target.NotRegistered" };
    }
    const zones = tg.loadBalancerArns.flatMap((arn) => this.loadBalancers.get(arn)?.zones ?? []);
    if (!zones.includes(target.instance.behaviour.zone)) {
      return {
        State: "unused",
        Reason: "Target.NotInUse",
        Description: "Target group is not configured to receive traffic from the load balancer",
      };
    }
    return this.checkedHealth(tg, target, now);
  }

  /**
   * When the load balancer's own checks first found the target healthy after its current registration
   * (the earliest a perfect gate could know), or undefined if no check up to `until` did. The bench
   * measures the gate's reaction against this.
   */
  firstHealthyCheckAt(tgArn: string, instanceId: string, until: number): number | undefined {
    const tg = this.required(tgArn);
    const target = this.targetsOf(tgArn).get(instanceId);
    if (!target) return undefined;
    const interval = tg.intervalSeconds * 1000;
    for (let k = Math.ceil((target.visibleAt - target.phaseMs) / interval); ; k++) {
      const checkAt = k * interval + target.phaseMs;
      if (checkAt > until) return undefined;
      if (this.healthOf(tgArn, instanceId, checkAt).State === "healthy") return checkAt;
    }
  }

  /**
   * Replays the checks since the target became visible, on the target's own grid (only the last few
   * matter for a long-registered target).
   */
  private checkedHealth(tg: SimTargetGroup, target: SimTarget, now: number): TargetHealth {
    const interval = tg.intervalSeconds * 1000;
    const checkAt = (k: number) => k * interval + target.phaseMs;
    const first = Math.ceil((target.visibleAt - target.phaseMs) / interval);
    const last = Math.floor((now - target.phaseMs) / interval);
    if (last < first) return { State: "initial", Reason: "Elb.RegistrationInProgress" };
    const window = 2 * (tg.healthyThreshold + tg.unhealthyThreshold);
    let state: "initial" | "healthy" | "unhealthy" = last - first + 1 > window ? "healthy" : "initial";
    let passes = 0;
    let fails = 0;
    for (let k = Math.max(first, last - window + 1); k <= last; k++) {
      if (this.appHealthyAt(target.instance, checkAt(k))) {
        passes += 1;
        fails = 0;
        // A new target needs one pass; an unhealthy one needs the healthy threshold.
        if (state === "initial" || passes >= tg.healthyThreshold) state = "healthy";
      } else {
        fails += 1;
        passes = 0;
        if (fails >= tg.unhealthyThreshold) state = "unhealthy";
      }
    }
    if (state === "healthy") return { State: "healthy" };
    if (state === "unhealthy") {
      return {
        State: "unhealthy",
        Reason: "Target.ResponseCodeMismatch",
        Description: "Health checks failed with these codes: [502]",
      };
    }
    return {
      State: "initial",
      Reason: "Elb.InitialHealthChecking",
      Description: "Initial health checks in progress",
    };
  }

  // --- the API the gate calls -------------------------------------------------------------------

  describeTargetHealth(input: DescribeTargetHealthCommandInput): DescribeTargetHealthCommandOutput {
    const tgArn = input.TargetGroupArn ?? "";
    this.required(tgArn);
    const ids = input.Targets?.map((t) => t.Id ?? "") ?? [...this.targetsOf(tgArn).keys()];
    return {
      $metadata: {},
      TargetHealthDescriptions: ids.map((id) => ({
        Target: { Id: id, Port: this.required(tgArn).port },
        HealthCheckPort: String(this.required(tgArn).port),
        TargetHealth: this.healthOf(tgArn, id),
      })),
    };
  }

  registerTargets(
    input: RegisterTargetsCommandInput,
    instances: ReadonlyMap<string, SimInstance>,
  ): Record<string, never> {
    const tg = this.required(input.TargetGroupArn ?? "");
    for (const target of input.Targets ?? []) {
      const instance = instances.get(target.Id ?? "");
      // RegisterTargets needs a running instance (docs/aws-facts.md, load balancer registration and target health).
      if (!instance || instance.state.startsWith("Terminat"))
        throw awsError("InvalidTarget", `${target.Id} is not a running instance`);
      this.register(tg.arn, instance, target.Port ?? tg.port, "the gate");
    }
    return {};
  }

  /** Told of each DeregisterTargets call before it takes effect (the world checks its invariants). */
  onDeregister?: (tgArn: string, instanceId: string) => void;

  deregisterTargets(input: DeregisterTargetsCommandInput): Record<string, never> {
    const tg = this.required(input.TargetGroupArn ?? "");
    for (const target of input.Targets ?? []) {
      this.onDeregister?.(tg.arn, target.Id ?? "");
      this.deregister(tg.arn, target.Id ?? "", "the gate");
    }
    return {};
  }

  describeTargetGroups(input: DescribeTargetGroupsCommandInput): DescribeTargetGroupsCommandOutput {
    return {
      $metadata: {},
      TargetGroups: (input.TargetGroupArns ?? []).map((arn) => {
        const tg = this.required(arn);
        return {
          TargetGroupArn: tg.arn,
          TargetGroupName: tg.name,
          Protocol: "HTTP",
          Port: tg.port,
          TargetType: "instance",
          HealthCheckProtocol: "HTTP",
          HealthCheckPort: "traffic-port",
          HealthCheckPath: "/health",
          HealthCheckIntervalSeconds: tg.intervalSeconds,
          HealthCheckTimeoutSeconds: 5,
          HealthyThresholdCount: tg.healthyThreshold,
          UnhealthyThresholdCount: tg.unhealthyThreshold,
          Matcher: { HttpCode: "200" },
          LoadBalancerArns: [...tg.loadBalancerArns],
        };
      }),
    };
  }

  describeLoadBalancers(input: DescribeLoadBalancersCommandInput): DescribeLoadBalancersCommandOutput {
    return {
      $metadata: {},
      LoadBalancers: (input.LoadBalancerArns ?? []).flatMap((arn) => {
        const lb = this.loadBalancers.get(arn);
        return lb
          ? [
              {
                LoadBalancerArn: lb.arn,
                LoadBalancerName: lb.name,
                AvailabilityZones: lb.zones.map((ZoneName) => ({ ZoneName })),
              },
            ]
          : [];
      }),
    };
  }

  private targetsOf(tgArn: string): Map<string, SimTarget> {
    const targets = this.targets.get(tgArn);
    if (!targets) throw awsError("TargetGroupNotFound", `target group ${tgArn} not found`);
    return targets;
  }

  private required(tgArn: string): SimTargetGroup {
    const tg = this.targetGroups.get(tgArn);
    if (!tg) throw awsError("TargetGroupNotFound", `target group ${tgArn} not found`);
    return tg;
  }
}
