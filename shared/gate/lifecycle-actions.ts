import {
  CompleteLifecycleActionCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { errorMessage } from "../errors.js";
import type { GateDeps } from "./deps.js";
import { waitStateOf } from "./launch-mode.js";
import { type GateRecord, isTokenless, type LaunchMode } from "./record.js";

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
 * hooks and warm pools) — except after a wait into the pool (`mode`): an instance anywhere past that
 * wait, out of the pool again included, got through it, and only CONTINUE lets it through.
 */
export function outcomeApplied(
  outcome: "CONTINUE" | "ABANDON",
  lifecycle: InstanceLifecycle | undefined,
  mode?: LaunchMode,
): boolean {
  if (outcome === "ABANDON") return !lifecycle || /Terminat/.test(lifecycle.state);
  if (!lifecycle) return false;
  const { state } = lifecycle;
  if (/Terminat/.test(state)) return false;
  if (mode && waitStateOf(mode) === "Warmed:Pending:Wait") return !BEFORE_WARM_OUTCOME.has(state);
  if (state === "Pending:Proceed" || state === "InService") return true;
  return state.startsWith("Warmed:") && !BEFORE_WARM_OUTCOME.has(state);
}

/**
 * Beyond the hook's heartbeat timeout, time for a heartbeat's own round trip and clocks that differ: a
 * wait whose last heartbeat is older than both has ended, whatever waits on the instance now.
 */
export const TOKENLESS_HEARTBEAT_SLACK_SECONDS = 60;

/**
 * Why the wait holding the instance now cannot be the one a tokenless record was made for, or
 * undefined when it can be. Without a token, CompleteLifecycleAction and RecordLifecycleActionHeartbeat
 * act on whatever wait holds the instance: a record of its wait into the warm pool must never complete
 * its later wait out of the pool (that would skip `start` and the health gate), nor any wait after its
 * own (an instance returned to the pool and taken out again waits in `Pending:Wait` once more). So the
 * instance must wait in the state the record's wait holds it in (waitStateOf), in the record's group,
 * and the record's last heartbeat must be recent enough for its wait to be still on: a hook applies its
 * default result a heartbeat timeout after the last heartbeat (docs/aws-facts.md, lifecycle hooks). A
 * wrong "no" is safe: the caller treats its wait as over, and the reconciler sights whatever waits now
 * as a new wait, gated afresh.
 */
export async function tokenlessWaitEnded(
  deps: GateDeps,
  record: Pick<GateRecord, "instanceId" | "groupName" | "mode" | "lastHeartbeatAt">,
): Promise<string | undefined> {
  const timeoutSeconds = deps.config.groups.find((g) => g.name === record.groupName)?.heartbeatTimeoutSeconds;
  if (timeoutSeconds !== undefined) {
    const silentSeconds = Math.round((deps.now() - record.lastHeartbeatAt) / 1000);
    if (silentSeconds > timeoutSeconds + TOKENLESS_HEARTBEAT_SLACK_SECONDS) {
      return `its last heartbeat was ${silentSeconds} s ago, past the hook's ${timeoutSeconds} s heartbeat timeout`;
    }
  }
  const lifecycle = await describeLifecycle(deps, record.instanceId);
  const expected = waitStateOf(record.mode);
  if (!lifecycle) return "the instance is no longer in the group";
  if (lifecycle.groupName !== record.groupName) return `the instance is now in group ${lifecycle.groupName}`;
  if (lifecycle.state !== expected) return `the instance is ${lifecycle.state}, not ${expected}`;
  return undefined;
}

/**
 * A call by instance id is refused here, before it is made, when the instance's wait is not the
 * record's (tokenlessWaitEnded): the same answer as the hook's own for a wait that has ended.
 */
async function refusedByInstanceId(deps: GateDeps, record: GateRecord, call: string): Promise<boolean> {
  if (!isTokenless(record)) return false;
  const why = await tokenlessWaitEnded(deps, record);
  if (why === undefined) return false;
  deps.log.warn(`not sending ${call} by instance id: the wait this record was made for has ended`, {
    token: record.token,
    waitState: waitStateOf(record.mode),
    why,
  });
  return true;
}

export type CompletionResult = "completed" | "not-active";

/**
 * Completes this wait with the given result; an action that is no longer active counts as done. A
 * tokenless record's wait is checked first to be the one holding the instance (tokenlessWaitEnded).
 */
export async function completeLifecycleAction(
  deps: GateDeps,
  record: GateRecord,
  result: "CONTINUE" | "ABANDON",
): Promise<CompletionResult> {
  if (await refusedByInstanceId(deps, record, "CompleteLifecycleAction")) return "not-active";
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

/** Restarts the hook's heartbeat period for this wait (a tokenless one checked first, as above). */
export async function recordHeartbeat(deps: GateDeps, record: GateRecord): Promise<CompletionResult> {
  if (await refusedByInstanceId(deps, record, "RecordLifecycleActionHeartbeat")) return "not-active";
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
