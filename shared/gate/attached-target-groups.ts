import type { AutoScalingGroup } from "@aws-sdk/client-auto-scaling";

/**
 * The load-balancer target groups attached to a group, however they were attached: AttachLoadBalancerTargetGroups
 * (and the group's TargetGroupARNs property) lists them under TargetGroupARNs, AttachTrafficSources under
 * TrafficSources with type `elbv2` (docs/aws-facts.md, traffic sources). A group may use both ways.
 */
export function attachedTargetGroupArns(
  group: Pick<AutoScalingGroup, "TargetGroupARNs" | "TrafficSources"> | undefined,
): string[] {
  const fromTrafficSources = (group?.TrafficSources ?? [])
    .filter((source) => source.Type === "elbv2" && source.Identifier)
    .map((source) => source.Identifier as string);
  return [...new Set([...(group?.TargetGroupARNs ?? []), ...fromTrafficSources])];
}
