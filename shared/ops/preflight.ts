import type { RuntimeGroup } from "../config/runtime-config.js";
import type { GateDeps } from "../gate/deps.js";
import { describeLifecycle, type InstanceLifecycle, isWaitingAtHook } from "../gate/lifecycle-actions.js";
import { TERMINAL_PHASES } from "../gate/record.js";

/**
 * May launchgate run its bootstrap on this serving instance right now? Only for an InService instance of
 * a configured group that no launch gate holds: the re-bootstrap function must never become a way to
 * run commands on arbitrary instances, nor race a launch that is still being gated.
 */
export type Preflight =
  | { readonly ok: true; readonly group: RuntimeGroup; readonly lifecycle: InstanceLifecycle }
  /** Waiting at the launch hook: the right action is to resume the launch gate, not to re-bootstrap. */
  | {
      readonly ok: false;
      readonly waiting: true;
      readonly group: RuntimeGroup;
      readonly lifecycle: InstanceLifecycle;
      readonly refusal: string;
    }
  | { readonly ok: false; readonly waiting?: false; readonly refusal: string };

export async function preflight(
  deps: GateDeps,
  instanceId: string,
  expectedGroup?: string,
): Promise<Preflight> {
  const lifecycle = await describeLifecycle(deps, instanceId);
  if (!lifecycle) {
    return {
      ok: false,
      refusal: `instance ${instanceId} is not in any Auto Scaling group (or no longer exists)`,
    };
  }
  const group = deps.config.groups.find((candidate) => candidate.name === lifecycle.groupName);
  if (!group) {
    return {
      ok: false,
      refusal: `instance ${instanceId} belongs to ${lifecycle.groupName}, which launchgate does not manage: refusing to run commands on it`,
    };
  }
  if (expectedGroup !== undefined && group.name !== expectedGroup) {
    return {
      ok: false,
      refusal: `instance ${instanceId} moved to ${group.name}; this operation is for ${expectedGroup}`,
    };
  }
  if (isWaitingAtHook(lifecycle)) {
    return {
      ok: false,
      waiting: true,
      group,
      lifecycle,
      refusal: `instance ${instanceId} is waiting at the launch hook (${lifecycle.state})`,
    };
  }
  if (lifecycle.state !== "InService") {
    return {
      ok: false,
      refusal: `instance ${instanceId} is ${lifecycle.state}; only InService instances are re-bootstrapped`,
    };
  }
  const record = await deps.store.load(instanceId);
  if (record && !TERMINAL_PHASES.has(record.phase) && record.phase !== "sighted") {
    return {
      ok: false,
      refusal: `instance ${instanceId} is still passing the launch gate (phase ${record.phase})`,
    };
  }
  return { ok: true, group, lifecycle };
}
