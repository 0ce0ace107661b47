import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
  type TargetHealth,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { awsErrorName } from "../errors.js";
import { sharedTargetHealth } from "./batch-reads.js";
import type { GateDeps } from "./deps.js";
import type { RegisteredTarget } from "./record.js";

/** Where a target's health is read: its group and port. */
export type HealthTarget = Pick<RegisteredTarget, "targetGroupArn" | "port">;

export interface HealthObservation<T extends HealthTarget = RegisteredTarget> {
  readonly target: T;
  /**
   * initial | healthy | unhealthy | unused | draining | unavailable | … (docs/aws-facts.md, load balancer
   * registration and target health)
   */
  readonly state: string;
  readonly reason?: string;
  readonly description?: string;
}

/**
 * The instance's health in each target group. `asPoll`: a look the caller repeats on its own pace, read
 * with few attempts (GateDeps.polls) — a throttle then reaches the caller as its "not yet".
 */
export async function observeHealth<T extends HealthTarget>(
  deps: GateDeps,
  instanceId: string,
  targets: readonly T[],
  { asPoll = false }: { readonly asPoll?: boolean } = {},
): Promise<HealthObservation<T>[]> {
  const client = (asPoll && deps.polls?.elbv2) || deps.elbv2;
  return Promise.all(
    targets.map(async (target) => {
      const health = (
        sharedTargetHealth(deps, target, instanceId) ?? (await readHealth(client, target, instanceId))
      ).health;
      return {
        target,
        state: String(health?.State ?? "unused"),
        reason: health?.Reason ? String(health.Reason) : "Target.NotRegistered",
        description: health?.Description,
      };
    }),
  );
}

async function readHealth(
  elbv2: ElasticLoadBalancingV2Client,
  target: HealthTarget,
  instanceId: string,
): Promise<{ readonly health: TargetHealth | undefined }> {
  try {
    const { TargetHealthDescriptions = [] } = await elbv2.send(
      new DescribeTargetHealthCommand({
        TargetGroupArn: target.targetGroupArn,
        Targets: [{ Id: instanceId, Port: target.port }],
      }),
    );
    return { health: TargetHealthDescriptions[0]?.TargetHealth };
  } catch (error) {
    // The instance no longer exists (terminated): not healthy, and nothing to register again. The wait
    // ends at the next heartbeat, which the hook refuses.
    if (awsErrorName(error) !== "InvalidTarget") throw error;
    return {
      health: {
        State: "unavailable",
        Reason: "Target.InvalidState",
        Description: "the instance no longer exists",
      },
    };
  }
}

/** True when the target group does not know the target (yet): registration needed or still propagating. */
export function isNotRegistered(observation: Pick<HealthObservation, "state" | "reason">): boolean {
  return observation.state === "unused" && observation.reason === "Target.NotRegistered";
}

/**
 * Registers the instance where it is not registered yet. We check first because what a repeated
 * RegisterTargets with the same port does is UNCONFIRMED (docs/aws-facts.md, load balancer registration and
 * target health).
 */
export async function ensureRegistered(
  deps: GateDeps,
  instanceId: string,
  observations: readonly HealthObservation[],
): Promise<RegisteredTarget[]> {
  const missing = observations.filter(isNotRegistered).map((observation) => observation.target);
  await registerTargets(deps, instanceId, missing);
  return missing;
}

/** Registers the instance with each target group, on the group's own port. */
export async function registerTargets(
  deps: GateDeps,
  instanceId: string,
  targets: readonly RegisteredTarget[],
): Promise<void> {
  for (const target of targets) {
    await deps.elbv2.send(
      new RegisterTargetsCommand({
        TargetGroupArn: target.targetGroupArn,
        Targets: [{ Id: instanceId, Port: target.port }],
      }),
    );
  }
}

/**
 * Removes the instance from every group the gate registered it with, before an ABANDON: whether Auto
 * Scaling deregisters a target it did not register is UNCONFIRMED (docs/aws-facts.md, load balancer
 * registration and target health).
 */
export async function deregisterAll(
  deps: GateDeps,
  instanceId: string,
  targets: readonly RegisteredTarget[],
): Promise<void> {
  for (const target of targets) {
    try {
      await deps.elbv2.send(
        new DeregisterTargetsCommand({
          TargetGroupArn: target.targetGroupArn,
          Targets: [{ Id: instanceId, Port: target.port }],
        }),
      );
    } catch (error) {
      // Already gone (e.g. the instance was terminated): nothing left to remove.
      if (awsErrorName(error) !== "InvalidTargetException") throw error;
    }
  }
}

/** The availability zones enabled on each load balancer in front of `target`. */
export async function loadBalancerZones(
  deps: GateDeps,
  target: RegisteredTarget,
): Promise<{ name: string; zones: string[] }[]> {
  if (target.loadBalancerArns.length === 0) return [];
  const { LoadBalancers = [] } = await deps.elbv2.send(
    new DescribeLoadBalancersCommand({ LoadBalancerArns: [...target.loadBalancerArns] }),
  );
  return LoadBalancers.map((lb) => ({
    name: lb.LoadBalancerName ?? lb.LoadBalancerArn ?? "unknown",
    zones: (lb.AvailabilityZones ?? []).map((zone) => zone.ZoneName ?? "").filter(Boolean),
  }));
}
