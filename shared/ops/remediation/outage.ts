import { DescribeTargetHealthCommand } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { GateDeps } from "../../gate/deps.js";

/**
 * A shared outage, told apart from sick instances: when most targets of a target group are unhealthy
 * at once (Redis down, a bad deploy, the network), restarting or replacing instances cannot help — the
 * replacements fail the gate too, while the load balancer, failing open, was still sending the old ones
 * traffic. Remediation then does nothing and says so.
 */

export interface TargetGroupHealth {
  readonly name: string;
  readonly arn: string;
  readonly healthyIds: ReadonlySet<string>;
  /** Targets in a settled state: healthy, unhealthy or unavailable (not initial, draining or unused). */
  readonly settled: number;
  readonly unhealthy: number;
}

const UNHEALTHY = new Set(["unhealthy", "unavailable"]);

/** What each target group's load balancer says of its targets, now. */
export async function readTargetGroupHealth(
  deps: Pick<GateDeps, "elbv2">,
  targetGroupArns: readonly string[],
): Promise<TargetGroupHealth[]> {
  const health: TargetGroupHealth[] = [];
  for (const arn of targetGroupArns) {
    const { TargetHealthDescriptions = [] } = await deps.elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: arn }),
    );
    const states = TargetHealthDescriptions.map((d) => ({
      id: d.Target?.Id ?? "",
      state: d.TargetHealth?.State,
    }));
    const healthyIds = new Set(states.filter((t) => t.state === "healthy").map((t) => t.id));
    const unhealthy = states.filter((t) => UNHEALTHY.has(t.state ?? "")).length;
    health.push({
      name: arn.split(":").at(-1)?.split("/")[1] ?? arn,
      arn,
      healthyIds,
      settled: healthyIds.size + unhealthy,
      unhealthy,
    });
  }
  return health;
}

/** Why this is a shared outage (the first target group that shows one), or undefined when it is not. */
export function systemicOutage(
  targetGroups: readonly TargetGroupHealth[],
  thresholdPercent: number,
): string | undefined {
  for (const tg of targetGroups) {
    if (tg.settled === 0) continue;
    const percent = Math.round((tg.unhealthy / tg.settled) * 100);
    if (tg.healthyIds.size === 0 || percent >= thresholdPercent) {
      return `systemic: ${tg.unhealthy} of ${tg.settled} targets in ${tg.name} are unhealthy (${percent} %, threshold ${thresholdPercent} %)${tg.healthyIds.size === 0 ? ", none healthy" : ""}: a shared dependency is the likely cause, not the instances; no action`;
    }
  }
  return undefined;
}
