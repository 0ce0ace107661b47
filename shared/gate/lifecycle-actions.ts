import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { errorMessage } from "../errors.js";
import type { GateDeps } from "./deps.js";
import { type GateRecord, isTokenless } from "./record.js";

/** Lifecycle states in which a launch hook holds the instance (docs/aws-facts.md, lifecycle hooks). */
const WAITING_STATES = new Set(["Pending:Wait", "Warmed:Pending:Wait"]);

export interface InstanceLifecycle {
  readonly state: string;
  readonly groupName: string;
  readonly availabilityZone: string;
}

/** The instance's lifecycle as Auto Scaling sees it, or undefined when the group no longer has it. */
export async function describeLifecycle(
  deps: GateDeps,
  instanceId: string,
): Promise<InstanceLifecycle | undefined> {
  const { AutoScalingInstances } = await deps.autoScaling.send(
    new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
  );
  const instance = AutoScalingInstances?.[0];
  if (!instance?.LifecycleState || !instance.AutoScalingGroupName) return undefined;
  // LifecycleState is a plain string in some SDK shapes (docs/aws-facts.md, lifecycle hooks): compare as
  // strings only.
  return {
    state: String(instance.LifecycleState),
    groupName: instance.AutoScalingGroupName,
    availabilityZone: instance.AvailabilityZone ?? "unknown",
  };
}

export function isWaitingAtHook(lifecycle: InstanceLifecycle | undefined): boolean {
  return lifecycle !== undefined && WAITING_STATES.has(lifecycle.state);
}

/**
 * "No active Lifecycle Action found with token …" / "… with instance ID …": the action was already
 * completed or timed out. The SDK error name is UNCONFIRMED (docs/aws-facts.md, lifecycle hooks), so we match
 * the message.
 */
export function isNoActiveLifecycleAction(error: unknown): boolean {
  return /No active Lifecycle Action found/i.test(errorMessage(error));
}

/** Warm-pool states of an instance whose launch into the pool is not yet completed. */
const BEFORE_WARM_OUTCOME: ReadonlySet<string> = new Set(["Warmed:Pending", "Warmed:Pending:Wait"]);

/**
 * Whether the instance's lifecycle shows `outcome` took effect, for when CompleteLifecycleAction says
 * the action is no longer active: another invocation (or a retry of ours) completed it first. CONTINUE
 * moves a launch on to Pending:Proceed and InService, or a warm-pool launch into the pool; ABANDON
 * terminates the instance. A waiting state is a new wait, never our outcome (docs/aws-facts.md, lifecycle
 * hooks and warm pools).
 */
export function outcomeApplied(
  outcome: "CONTINUE" | "ABANDON",
  lifecycle: InstanceLifecycle | undefined,
): boolean {
  if (outcome === "ABANDON") return !lifecycle || /Terminat/.test(lifecycle.state);
  if (!lifecycle) return false;
  const { state } = lifecycle;
  if (state === "Pending:Proceed" || state === "InService") return true;
  return state.startsWith("Warmed:") && !BEFORE_WARM_OUTCOME.has(state) && !/Terminat/.test(state);
}

export type CompletionResult = "completed" | "not-active";

/** Completes this wait with the given result; an action that is no longer active counts as done. */
export async function completeLifecycleAction(
  deps: GateDeps,
  record: GateRecord,
  result: "CONTINUE" | "ABANDON",
): Promise<CompletionResult> {
  try {
    await deps.autoScaling.send(
      new CompleteLifecycleActionCommand({
        AutoScalingGroupName: record.groupName,
        LifecycleHookName: record.hookName,
        ...waitReference(record),
        LifecycleActionResult: result,
      }),
    );
    return "completed";
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return "not-active";
    throw error;
  }
}

/** Restarts the hook's heartbeat period for this wait. */
export async function recordHeartbeat(deps: GateDeps, record: GateRecord): Promise<CompletionResult> {
  try {
    await deps.autoScaling.send(
      new RecordLifecycleActionHeartbeatCommand({
        AutoScalingGroupName: record.groupName,
        LifecycleHookName: record.hookName,
        ...waitReference(record),
      }),
    );
    return "completed";
  } catch (error) {
    if (isNoActiveLifecycleAction(error)) return "not-active";
    throw error;
  }
}

/** The token pins a call to one wait (a warm-pool instance waits twice); without one, name the instance. */
function waitReference(record: GateRecord): { LifecycleActionToken: string } | { InstanceId: string } {
  return isTokenless(record) ? { InstanceId: record.instanceId } : { LifecycleActionToken: record.token };
}
