import type { RuntimeGroup } from "../config/runtime-config.js";
import { StaleRecordError } from "../errors.js";
import type { RecheckEvent } from "../events/gate-event.js";
import { type ActiveWait, abandonPastDeadline, loadActiveWait } from "./active-wait.js";
import { isPollThrottled, throttledPaceSeconds } from "./batch-reads.js";
import { type GateDeps, groupConfig } from "./deps.js";
import { abandonLaunch, continueLaunch } from "./finish.js";
import { keepAlive } from "./keep-alive.js";
import { describeLifecycle } from "./lifecycle-actions.js";
import type { SeenTarget } from "./ports.js";
import {
  gateDeadlinePassedUnhealthy,
  healthyAtDeadline,
  neverHealthy,
  notInUseNoListener,
  notInUseZone,
} from "./reasons.js";
import { advance, type GateRecord, type RegisteredTarget } from "./record.js";
import { usableSeen } from "./seen.js";
import { discoverTargetGroups, healthBudgetSeconds } from "./target-groups.js";
import {
  ensureRegistered,
  type HealthObservation,
  type HealthTarget,
  isNotRegistered,
  loadBalancerZones,
  observeHealth,
  registerTargets,
} from "./target-health.js";
import { carryOnAfterWatchSave, nextRound, nextSeenRound } from "./watched-rounds.js";

/**
 * Just after RegisterTargets, DescribeTargetHealth can still say Target.NotRegistered (docs/aws-facts.md,
 * load balancer registration and target health); only after this long do we believe it and register again.
 */
const REGISTRATION_PROPAGATION_SECONDS = 30;

/**
 * Bootstrap succeeded: register the instance with its target groups ourselves — Auto Scaling would only
 * do it after the hook completes (docs/aws-facts.md, load balancer registration and target health) — and
 * start waiting for `healthy`. The first health
 * re-check is scheduled before the phase is saved, and the intent (which groups, by when) is saved
 * before registering: whichever step fails, the retry of this step or that re-check finishes the job.
 */
export async function beginHealthGate(deps: GateDeps, wait: ActiveWait): Promise<void> {
  const { group } = wait;
  // Moving on is no reason to skip a heartbeat that is due: the first health re-check is seconds away,
  // but a crash of its invocation costs SQS's visibility timeout. Recorded by the save below (or the
  // abandon's), not by a write of its own.
  const record = await keepAlive(deps, wait.record, group.heartbeatTimeoutSeconds, { saveWithCaller: true });
  const discovery = await discoverTargetGroups(deps, group);
  if (!discovery.ok) {
    await abandonLaunch(deps, record, discovery.problem);
    return;
  }
  const targets = discovery.targets;
  const now = deps.now();
  const budget = healthBudgetSeconds(targets);
  const names = targets.map((target) => target.name).join(", ");
  const registering = advance(
    record,
    {
      phase: "awaiting-health",
      registered: targets,
      registeredAt: now,
      phaseDeadline: Math.min(record.deadline, now + budget * 1000),
    },
    `bootstrap succeeded; registering with ${names}; healthy expected within ${budget} s`,
    now,
  );
  await nextRound(deps, "health", registering, group, healthPaceSeconds(registering, targets, now));
  await deps.store.save(registering);
  // First time in this phase (the save above would have failed otherwise): nothing registered yet, so
  // no need to look first. A registration lost after the save is redone by the health re-check.
  await registerTargets(deps, record.instanceId, targets);
}

/** A delayed health re-check arrived: CONTINUE once healthy everywhere, ABANDON on a known cause or deadline. */
export async function onHealthRecheck(deps: GateDeps, event: RecheckEvent): Promise<void> {
  try {
    await healthRound(deps, event);
  } catch (error) {
    if (error instanceof StaleRecordError)
      await carryOnAfterWatchSave(deps, event, "health", ["awaiting-health"]);
    throw error;
  }
}

async function healthRound(deps: GateDeps, event: RecheckEvent): Promise<void> {
  const seenRound = await healthRoundBySeen(deps, event);
  if (seenRound === "done") return;
  const wait = await loadActiveWait(
    deps,
    event.instanceId,
    event.token,
    ["awaiting-health"],
    finishPastDeadline,
    event,
  );
  const { record, group } = wait;
  const now = deps.now();
  let observations: HealthObservation[];
  try {
    observations =
      (seenRound && asObservedFor(seenRound, record.registered)) ??
      (await observeHealth(deps, record.instanceId, record.registered, { asPoll: true }));
  } catch (error) {
    if (!isPollThrottled(error)) throw error;
    deps.log.info("poll throttled; looking again later", { step: "health" });
    const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
    return nextRound(
      deps,
      "health",
      kept,
      group,
      throttledPaceSeconds(healthPaceSeconds(record, record.registered, now)),
    );
  }
  const waited = secondsSinceRegistration(record, now);
  if (healthyEverywhere(observations)) {
    const names = record.registered.map((target) => target.name).join(", ");
    await continueLaunch(deps, record, `healthy in ${names} ${waited} s after registration`);
    return;
  }
  const cause = await explainNotInUse(deps, record.instanceId, observations);
  if (cause) {
    await abandonLaunch(deps, record, cause);
    return;
  }
  // A target still unknown to its group was never registered (the call failed, e.g. throttled): its
  // health checks have not started, so neither has its budget.
  const unregistered = waited >= REGISTRATION_PROPAGATION_SECONDS && observations.some(isNotRegistered);
  if (now >= (record.phaseDeadline ?? record.deadline) && !unregistered) {
    await abandonLaunch(deps, record, neverHealthy(observations, waited));
    return;
  }
  let current = record;
  if (unregistered) {
    // The new budget is saved before registering, as beginHealthGate does: if the save fails nothing
    // was registered and the retry sees the same; if registering fails, the next re-check does.
    const names = observations
      .filter(isNotRegistered)
      .map((o) => o.target.name)
      .join(", ");
    const budget = healthBudgetSeconds(record.registered);
    current = advance(
      record,
      { registeredAt: now, phaseDeadline: Math.min(record.deadline, now + budget * 1000) },
      `registering again with ${names} (not registered ${waited} s after the first attempt); healthy expected within ${budget} s`,
      now,
    );
    await deps.store.save(current);
    await ensureRegistered(deps, record.instanceId, observations);
    deps.log.warn("target was not registered; registered again", { targetGroups: names });
  }
  const kept = await keepAlive(deps, current, group.heartbeatTimeoutSeconds);
  await nextRound(deps, "health", kept, group, healthPaceSeconds(kept, record.registered, deps.now()));
}

/**
 * A round that goes by what the re-check carries (seen.ts), without reading the record: while no
 * target group says anything the step would act on, the next round is scheduled as seen ("done"). Healthy
 * everywhere, Target.NotInUse, or a target still unknown past propagation run the step in full, which
 * reads the record and acts on what was observed (returned); a re-check carrying nothing usable
 * (undefined) runs it in full and looks itself.
 */
async function healthRoundBySeen(
  deps: GateDeps,
  event: RecheckEvent,
): Promise<"done" | readonly HealthObservation<SeenTarget>[] | undefined> {
  const seen = usableSeen(event, deps.now());
  const targets = seen?.targets;
  if (!seen || !targets || targets.length === 0) return undefined;
  const group = groupConfig(deps.config, seen.groupName);
  const now = deps.now();
  const pace = healthPaceSeconds(seen, targets, now);
  let observations: HealthObservation<SeenTarget>[];
  try {
    observations = await observeHealth(deps, event.instanceId, targets, { asPoll: true });
  } catch (error) {
    if (!isPollThrottled(error)) throw error;
    await nextSeenRound(deps, event, seen, group, throttledPaceSeconds(pace));
    return "done";
  }
  if (calledForStep(observations, secondsSinceRegistration(seen, now))) return observations;
  await nextSeenRound(deps, event, seen, group, pace);
  return "done";
}

/**
 * Whether what a poll observed is something the step acts on: healthy everywhere, Target.NotInUse, or a
 * target still unknown past the registration's propagation. Anything else is "not yet".
 */
export function calledForStep(
  observations: readonly HealthObservation<HealthTarget>[],
  secondsSinceRegistration: number,
): boolean {
  return (
    healthyEverywhere(observations) ||
    observations.some((observation) => observation.reason === "Target.NotInUse") ||
    (secondsSinceRegistration >= REGISTRATION_PROPAGATION_SECONDS && observations.some(isNotRegistered))
  );
}

/**
 * What this invocation already observed, for the record's own target groups — or undefined unless it
 * observed exactly those (a record whose set differs from what the re-check carried is looked at anew).
 */
function asObservedFor(
  observed: readonly HealthObservation<SeenTarget>[],
  registered: readonly RegisteredTarget[],
): HealthObservation[] | undefined {
  if (observed.length !== registered.length) return undefined;
  const byArn = new Map(observed.map((observation) => [observation.target.targetGroupArn, observation]));
  const mapped: HealthObservation[] = [];
  for (const target of registered) {
    const seen = byArn.get(target.targetGroupArn);
    if (!seen || seen.target.port !== target.port) return undefined;
    mapped.push({ ...seen, target });
  }
  return mapped;
}

/**
 * Ends a wait found past its overall deadline. While waiting for health, look first: an instance
 * that turned healthy in every target group since the last re-check is serving, and abandoning it
 * would throw away a good instance (and its capacity) on a timing accident. Anything else abandons.
 * Usable by any step that finds a wait past its deadline (the reconciler too).
 */
export async function finishPastDeadline(
  deps: GateDeps,
  record: GateRecord,
  group: RuntimeGroup,
): Promise<"CONTINUE" | "ABANDON"> {
  if (record.phase !== "awaiting-health" || record.registered.length === 0) {
    return abandonPastDeadline(deps, record, group);
  }
  const observations = await observeHealth(deps, record.instanceId, record.registered);
  if (healthyEverywhere(observations)) {
    const names = record.registered.map((target) => target.name);
    const waited = secondsSinceRegistration(record, deps.now());
    await continueLaunch(deps, record, healthyAtDeadline(names, group.gateTimeoutSeconds, waited));
    return "CONTINUE";
  }
  await abandonLaunch(deps, record, gateDeadlinePassedUnhealthy(group.gateTimeoutSeconds, observations));
  return "ABANDON";
}

/** CONTINUE needs `healthy` in every target group: traffic reaches the instance through each of them. */
export function healthyEverywhere(observations: readonly Pick<HealthObservation, "state">[]): boolean {
  return observations.every((observation) => observation.state === "healthy");
}

function secondsSinceRegistration(
  record: Pick<GateRecord, "registeredAt" | "startedAt">,
  now: number,
): number {
  return Math.round((now - (record.registeredAt ?? record.startedAt)) / 1000);
}

/**
 * Target.NotInUse will not fix itself when its cause is configuration — no listener uses the group, or
 * the instance's zone is not enabled on the load balancer (the seed deployment's symptom; docs/aws-facts.md,
 * load balancer registration and target health).
 * When we can name the cause we fail now; otherwise we keep waiting until the deadline.
 */
async function explainNotInUse(
  deps: GateDeps,
  instanceId: string,
  observations: readonly HealthObservation[],
): Promise<string | undefined> {
  let instanceZone: string | undefined;
  for (const observation of observations) {
    if (observation.reason !== "Target.NotInUse") continue;
    const { target } = observation;
    if (target.loadBalancerArns.length === 0) return notInUseNoListener(target.name);
    // Looked up only here, where it is needed: a rare path, not one call per health re-check.
    instanceZone ??= (await describeLifecycle(deps, instanceId))?.availabilityZone ?? "unknown";
    for (const lb of await loadBalancerZones(deps, target)) {
      if (!lb.zones.includes(instanceZone)) return notInUseZone(target.name, instanceZone, lb.name, lb.zones);
    }
  }
  return undefined;
}

/**
 * The dense pace of health re-checks, while a first passing check may come at any moment: a third of
 * the default 30 s check interval. 5 s would cut the lag by 2 s for 20 % more calls (`npm run bench`).
 */
export const HEALTH_DENSE_PACE_SECONDS = 10;

/**
 * How soon to look at health again. A new target turns healthy at its first passing check, which the
 * load balancer runs on its own clock: any time within one interval of the registration becoming
 * visible. Over that window (plus the registration's propagation) the gate looks densely — twice per
 * check interval, at most every 10 s and at least every 5 s (a 10 s interval: every 5 s; the 30 s
 * default: every 10 s) — the polls shared by the waits of a batch; after it, at the checks' own pace.
 */
export function healthPaceSeconds(
  record: Pick<GateRecord, "registeredAt" | "startedAt">,
  targets: readonly Pick<RegisteredTarget, "intervalSeconds">[],
  now: number,
): number {
  const interval = Math.min(...targets.map((target) => target.intervalSeconds));
  const sinceRegistration = (now - (record.registeredAt ?? record.startedAt)) / 1000;
  const denseFor = interval + REGISTRATION_PROPAGATION_SECONDS;
  const dense = Math.max(5, Math.min(HEALTH_DENSE_PACE_SECONDS, Math.floor(interval / 2)));
  return sinceRegistration < denseFor ? dense : Math.max(5, interval);
}
