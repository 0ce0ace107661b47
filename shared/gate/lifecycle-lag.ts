import type { LaunchEvent } from "../events/gate-event.js";
import { type GateDeps, sleepOf } from "./deps.js";
import { describeLifecycle, type InstanceLifecycle } from "./lifecycle-actions.js";

/**
 * Auto Scaling's API lagging its own lifecycle events: a launch event (or an agent that is Online at
 * once) can come before DescribeAutoScalingInstances shows the instance waiting at the hook. These
 * tell that lag from an instance that has left its wait, so that neither the launch event nor the
 * agent step drops a wait that is only not listed yet (docs/aws-facts.md, lifecycle hooks).
 */

/**
 * How long after its wait began an event may still find the instance missing from
 * DescribeAutoScalingInstances because the API has not caught up, rather than because it is gone.
 */
export const LIFECYCLE_LAG_SECONDS = 120;

/** Lifecycle states an instance passes through just before a launch hook holds it (docs/aws-facts.md, lifecycle hooks). */
const BEFORE_WAIT_STATES = new Set(["Pending", "Warmed:Pending"]);

/**
 * True when the API's view of the instance may simply lag the launch event: Auto Scaling emits the
 * event as the instance enters the wait, but DescribeAutoScalingInstances can still say `Pending`, or
 * (for a young event) not list the instance at all. Such an event must be retried, not dropped: no
 * other event will start this wait's gate.
 */
export function lifecycleLagsEvent(
  lifecycle: InstanceLifecycle | undefined,
  waitStartedAt: number | undefined,
  now: number,
): boolean {
  if (lifecycle) return BEFORE_WAIT_STATES.has(lifecycle.state);
  return waitStartedAt !== undefined && now - waitStartedAt < LIFECYCLE_LAG_SECONDS * 1000;
}

/**
 * A launch event this young speaks for a wait that is still on: the hook holds the instance for at
 * least its heartbeat timeout (360 s or more), and Auto Scaling's API would only lag it (see
 * lifecycleLagsEvent). Asking would cost one to four DescribeAutoScalingInstances per launch to learn
 * nothing; a wait that did end meanwhile is caught before anything is sent to the instance (checkAgent).
 */
export function eventIsFresh(event: Pick<LaunchEvent, "waitStartedAt">, now: number): boolean {
  return event.waitStartedAt !== undefined && now - event.waitStartedAt < LIFECYCLE_LAG_SECONDS * 1000;
}

/** How soon the agent step looks again when Auto Scaling's API has not caught up with its wait yet. */
export const LIFECYCLE_LAG_RECHECK_SECONDS = 2;

/** Pauses before asking Auto Scaling again when its API has not caught up with the event yet. */
export const LIFECYCLE_LAG_PAUSES_MS = [1000, 2000, 4000] as const;

/**
 * The instance's lifecycle, asked again a few times, seconds apart, while Auto Scaling's API still lags
 * the event: a retry by Lambda comes only a minute later, and costs one of the event's three attempts.
 */
export async function lifecycleCaughtUp(
  deps: GateDeps,
  event: LaunchEvent,
): Promise<InstanceLifecycle | undefined> {
  let lifecycle = await describeLifecycle(deps, event.instanceId);
  for (const pause of LIFECYCLE_LAG_PAUSES_MS) {
    if (!lifecycleLagsEvent(lifecycle, event.waitStartedAt, deps.now())) break;
    await sleepOf(deps)(pause);
    lifecycle = await describeLifecycle(deps, event.instanceId);
  }
  return lifecycle;
}
