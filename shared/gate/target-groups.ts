import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeTargetGroupsCommand, type TargetGroup } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { RuntimeGroup } from "../config/runtime-config.js";
import { attachedTargetGroupArns } from "./attached-target-groups.js";
import type { GateDeps } from "./deps.js";
import type { RegisteredTarget } from "./record.js";

/** Seconds allowed on top of the health checks themselves for registration to propagate. */
const REGISTRATION_SLACK_SECONDS = 30;

export type Discovery =
  | { readonly ok: true; readonly targets: readonly RegisteredTarget[] }
  | { readonly ok: false; readonly problem: string };

/**
 * The target groups attached to the instance's Auto Scaling group, discovered at run time and checked
 * against the configured allow-list. Every attached group must be allowed and of target type
 * `instance`: the gate can only vouch for traffic it has verified, and IAM only lets it register
 * with allowed groups.
 */
export async function discoverTargetGroups(deps: GateDeps, group: RuntimeGroup): Promise<Discovery> {
  const known = recentDiscoveries(deps);
  const recent = known.get(group.name);
  const age = deps.now() - (recent?.at ?? Number.NEGATIVE_INFINITY);
  if (recent && age >= 0 && age < DISCOVERY_REUSE_MS) return { ok: true, targets: recent.targets };
  const discovery = await discover(deps, group);
  if (discovery.ok) known.set(group.name, { at: deps.now(), targets: discovery.targets });
  return discovery;
}

/**
 * How long a container reuses what it discovered of a group's target groups. A burst registers its
 * instances over several minutes (bootstraps differ by minutes); asking Auto Scaling and ELB again for
 * each would cost two control-plane calls per launch to learn the same (with a one-minute reuse, 0.7
 * per launch in `npm run bench`). A target group attached or detached in the last ten minutes reaches
 * the next launch at most this much later — target groups change with deployments, not with bursts;
 * a launch registers with, watches and deregisters from one consistent set either way (the set is
 * saved in its record).
 */
export const DISCOVERY_REUSE_MS = 600_000;

/** Per container: per runtime config and client, so a test's or a simulated world's wiring never shares it. */
const discoveries = new WeakMap<
  object,
  WeakMap<object, Map<string, { at: number; targets: readonly RegisteredTarget[] }>>
>();

function recentDiscoveries(
  deps: GateDeps,
): Map<string, { at: number; targets: readonly RegisteredTarget[] }> {
  let byClient = discoveries.get(deps.config);
  if (!byClient) {
    byClient = new WeakMap();
    discoveries.set(deps.config, byClient);
  }
  let known = byClient.get(deps.elbv2);
  if (!known) {
    known = new Map();
    byClient.set(deps.elbv2, known);
  }
  return known;
}

async function discover(deps: GateDeps, group: RuntimeGroup): Promise<Discovery> {
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
  );
  const arns = attachedTargetGroupArns(AutoScalingGroups?.[0]);
  if (arns.length === 0) {
    return {
      ok: false,
      problem: `group ${group.name} has no target group attached (expected ${group.targetGroups.join(", ")}): attach it to the group`,
    };
  }
  const { TargetGroups = [] } = await deps.elbv2.send(
    new DescribeTargetGroupsCommand({ TargetGroupArns: arns }),
  );
  const targets: RegisteredTarget[] = [];
  for (const tg of TargetGroups) {
    const name = tg.TargetGroupName ?? tg.TargetGroupArn ?? "unknown";
    if (!group.targetGroups.includes(name)) {
      return {
        ok: false,
        problem: `target group ${name} is attached to ${group.name} but not in launchgate's allow-list (${group.targetGroups.join(", ")}): add it to groups[].targetGroups or detach it`,
      };
    }
    if (tg.TargetType !== "instance") {
      return {
        ok: false,
        problem: `target group ${name} has target type ${tg.TargetType}; the gate registers instances, so it needs target type "instance"`,
      };
    }
    targets.push(toRegisteredTarget(tg, name));
  }
  return { ok: true, targets };
}

function toRegisteredTarget(tg: TargetGroup, name: string): RegisteredTarget {
  const intervalSeconds = tg.HealthCheckIntervalSeconds ?? 30;
  const threshold = tg.HealthyThresholdCount ?? 5;
  const protocol = tg.HealthCheckProtocol ?? "HTTP";
  const path = tg.HealthCheckPath ? ` ${tg.HealthCheckPath}` : "";
  const port = tg.HealthCheckPort ?? "traffic-port";
  const matcher = tg.Matcher?.HttpCode ?? tg.Matcher?.GrpcCode ?? "200";
  return {
    targetGroupArn: tg.TargetGroupArn ?? "",
    name,
    port: tg.Port ?? 80,
    intervalSeconds,
    healthyThreshold: threshold,
    unhealthyThreshold: tg.UnhealthyThresholdCount ?? 2,
    healthCheck: `${protocol}${path} on ${port} expecting ${matcher}, timeout ${tg.HealthCheckTimeoutSeconds ?? 5} s, ${threshold} passes ${intervalSeconds} s apart`,
    loadBalancerArns: tg.LoadBalancerArns ?? [],
  };
}

/**
 * How long a newly registered target may take to become healthy, derived from each group's own health
 * check: ALB docs say one passing check can suffice for a new target, but plan for interval × healthy
 * threshold (docs/aws-facts.md, load balancer registration and target health), plus one interval of phase
 * offset and the registration slack.
 */
export function healthBudgetSeconds(targets: readonly RegisteredTarget[]): number {
  const slowest = Math.max(0, ...targets.map((t) => t.intervalSeconds * (t.healthyThreshold + 1)));
  return slowest + REGISTRATION_SLACK_SECONDS;
}
