import { CfnResource, Token } from "aws-cdk-lib";
import type * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import { drainHookHeartbeatSeconds, drainHookNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig } from "../../shared/config/schema.js";

export type LaunchHookSpec = autoscaling.CfnAutoScalingGroup.LifecycleHookSpecificationProperty;

/**
 * launchgate's launch hook for a group. No notification target and no role: Auto Scaling sends
 * lifecycle events to EventBridge by itself (docs/aws-facts.md, lifecycle hooks). The default result is
 * set explicitly: the service default is ABANDON, and CDK's docs wrongly say CONTINUE.
 */
export function launchHookSpec(group: GroupConfig): LaunchHookSpec {
  return {
    lifecycleHookName: group.hookName,
    lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
    defaultResult: "ABANDON",
    heartbeatTimeout: group.heartbeatTimeoutSeconds,
  };
}

/**
 * The drain (terminate) hook of a group with `drain` configured, or undefined. Its default result is
 * CONTINUE: if launchgate never completes it, termination still goes on once the heartbeat timeout (the
 * drain limit plus a margin) passes; on a terminate hook the result only decides whether other hooks
 * still run, never whether the instance terminates (docs/aws-facts.md, terminate lifecycle hooks).
 */
export function drainHookSpec(group: GroupConfig): LaunchHookSpec | undefined {
  if (!group.drain) return undefined;
  return {
    lifecycleHookName: drainHookNameFor(group.hookName),
    lifecycleTransition: "autoscaling:EC2_INSTANCE_TERMINATING",
    defaultResult: "CONTINUE",
    heartbeatTimeout: drainHookHeartbeatSeconds(group.drain.timeoutSeconds),
  };
}

/**
 * Puts the hook inside a group this app creates, in its own LifecycleHookSpecificationList: it exists
 * before the group launches anything, so even its first instances wait for the gate (a separate hook
 * resource is created after the group, and misses them). False for a group the app only imports.
 */
export function addLaunchHookInside(group: autoscaling.IAutoScalingGroup, hook: LaunchHookSpec): boolean {
  const resource = group.node.defaultChild;
  if (
    !resource ||
    !CfnResource.isCfnResource(resource) ||
    resource.cfnResourceType !== "AWS::AutoScaling::AutoScalingGroup"
  )
    return false;
  const cfn = resource as autoscaling.CfnAutoScalingGroup;
  const existing = cfn.lifecycleHookSpecificationList ?? [];
  if (!Array.isArray(existing)) {
    throw new Error(
      `${cfn.node.path}: its lifecycleHookSpecificationList is a token; launchgate cannot add its hook "${hook.lifecycleHookName}" to it`,
    );
  }
  const clash = existing.find(
    (other) =>
      !Token.isUnresolved(other) && (other as LaunchHookSpec).lifecycleHookName === hook.lifecycleHookName,
  );
  if (clash) {
    throw new Error(
      `${cfn.node.path} already has a lifecycle hook named "${hook.lifecycleHookName}": gate it once, or set groups[].hookName`,
    );
  }
  cfn.lifecycleHookSpecificationList = [...existing, hook];
  return true;
}
