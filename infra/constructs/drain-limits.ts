import { Annotations, Aspects, Stack, Token } from "aws-cdk-lib";
import type * as elbv2 from "aws-cdk-lib/aws-elasticloadbalancingv2";
import type { Construct } from "constructs";
import type { LaunchgateConfig } from "../../shared/config/schema.js";

/**
 * What a drain (groups[].drain) needs of the rest of the deployment, checked at synth.
 *
 * The drain runs as the bootstrap document's `drain` phase, so SSM's execution timeout for it is the
 * document's step timeout, `bootstrapTimeoutSeconds` (one value: the launch gate reads the same number
 * to tell an execution timeout from a failure, so it cannot be lengthened for the drain alone). A drain
 * limit that does not fit under it is not honoured: bootstrap.sh ends its wait DEADLINE_MARGIN_SECONDS
 * before the timeout and kills the containers there, earlier than the configured limit, and the operator
 * reading `drain.timeoutSeconds` would believe sessions get that long. Refused rather than fixed up:
 * raising the execution timeout silently would also lengthen every launch's bootstrap (and the
 * `gateTimeoutSeconds` floor), a trade the operator should make knowingly.
 */

/**
 * Seconds of the execution timeout the drain phase needs beyond its limit: the 15 s bootstrap.sh keeps
 * back from the timeout (DEADLINE_MARGIN_SECONDS, to report before SSM's kill), the 10 s it keeps back
 * from that deadline to stop the containers still running (DRAIN_STOP_SECONDS), and 15 s for the agent
 * starting the step and the steps before the wait (docker info, compose ps, the signal).
 */
export const DRAIN_COMMAND_OVERHEAD_SECONDS = 40;

/** ELB's deregistration delay when a target group does not set `deregistration_delay.timeout_seconds`. */
export const DEFAULT_DEREGISTRATION_DELAY_SECONDS = 300;

/** The warning's id, for `Annotations.of(gate).acknowledgeWarning(...)` where a short delay is meant. */
export const SHORT_DEREGISTRATION_DELAY_WARNING = "launchgate:drain-longer-than-deregistration-delay";

/** Groups whose drain limit does not fit in their bootstrap document's execution timeout, one line each. */
export function drainTimeoutProblems(config: LaunchgateConfig): string[] {
  return config.groups.flatMap((group, index) => {
    if (!group.drain) return [];
    const limit = group.drain.timeoutSeconds;
    const timeout = group.bootstrapTimeoutSeconds;
    if (limit + DRAIN_COMMAND_OVERHEAD_SECONDS <= timeout) return [];
    return [
      `groups[${index}] (${group.name}): drain.timeoutSeconds is ${limit} s, but the drain command runs under the bootstrap document's execution timeout, bootstrapTimeoutSeconds = ${timeout} s, and needs ${DRAIN_COMMAND_OVERHEAD_SECONDS} s of it beyond the limit (the drain would be cut at ${Math.max(0, timeout - DRAIN_COMMAND_OVERHEAD_SECONDS)} s): raise groups[${index}].bootstrapTimeoutSeconds to at least ${limit + DRAIN_COMMAND_OVERHEAD_SECONDS} or lower groups[${index}].drain.timeoutSeconds to at most ${timeout - DRAIN_COMMAND_OVERHEAD_SECONDS}`,
    ];
  });
}

/**
 * Warns (at synth) about each target group of a draining group that this app defines and whose
 * deregistration delay is shorter than the drain's limit. Auto Scaling deregisters a leaving instance
 * and waits out the delay before the terminate hook (docs/aws-facts.md, terminate lifecycle hooks): the
 * load balancer cuts the connections still open at the delay's end, so sessions through it never get
 * the drain's full limit. A warning, not an error: a short delay can be meant (the drain finishing
 * in-process work, not client sessions), and the app can acknowledge it by id. Checked when the app is
 * prepared (an aspect), so attributes set after the gate was constructed count. Target groups named only
 * by name are not in the template: docs/deploy.md says how to check those.
 */
export function warnShortDeregistrationDelays(
  gate: Construct,
  config: LaunchgateConfig,
  targetGroups: ReadonlyMap<string, elbv2.IApplicationTargetGroup>,
): void {
  let done = false;
  Aspects.of(gate).add({
    visit: (node) => {
      if (node !== gate || done) return;
      done = true;
      for (const [index, group] of config.groups.entries()) {
        if (!group.drain) continue;
        for (const name of group.targetGroups) {
          const targetGroup = targetGroups.get(name);
          const delay = targetGroup && deregistrationDelaySeconds(targetGroup);
          if (delay === undefined || delay >= group.drain.timeoutSeconds) continue;
          Annotations.of(gate).addWarningV2(
            SHORT_DEREGISTRATION_DELAY_WARNING,
            `groups[${index}] (${group.name}): target group ${targetGroup?.node.path} deregisters in ${delay} s, shorter than drain.timeoutSeconds (${group.drain.timeoutSeconds} s): the load balancer cuts sessions at ${delay} s, before the drain starts; set its deregistration delay to at least ${group.drain.timeoutSeconds} s (it ends early once no request is open)`,
          );
        }
      }
    },
  });
}

/**
 * The target group's `deregistration_delay.timeout_seconds` as it will deploy: the value set, ELB's
 * default when none is, undefined when it is not known at synth (a token, or an imported target group).
 */
export function deregistrationDelaySeconds(targetGroup: elbv2.IApplicationTargetGroup): number | undefined {
  const resource = targetGroup.node.defaultChild as elbv2.CfnTargetGroup | undefined;
  if (resource?.cfnResourceType !== "AWS::ElasticLoadBalancingV2::TargetGroup") return undefined;
  const attributes = Stack.of(resource).resolve(resource.targetGroupAttributes) as
    | { key?: unknown; value?: unknown }[]
    | undefined;
  if (attributes !== undefined && !Array.isArray(attributes)) return undefined;
  const set = attributes?.find((attribute) => attribute.key === "deregistration_delay.timeout_seconds");
  if (set === undefined) return DEFAULT_DEREGISTRATION_DELAY_SECONDS;
  const value = set.value;
  if (typeof value !== "string" || Token.isUnresolved(value) || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
