import {
  DescribeAutoScalingGroupsCommand,
  DescribeWarmPoolCommand,
  type Instance,
} from "@aws-sdk/client-auto-scaling";
import type { RuntimeGroup } from "../config/runtime-config.js";
import type { DrainDeps } from "../drain/drain.js";
import { rescueDrain } from "../drain/rescue.js";
import { errorMessage, SkipEventError } from "../errors.js";
import { withCorrelation } from "../logger.js";
import { emitAll } from "../metrics/emit.js";
import { rescueMetrics } from "../metrics/launch-metrics.js";
import type { RescueAction } from "../metrics/metric-names.js";
import { runBounded } from "./bounded-run.js";
import { type GateDeps, sleepOf } from "./deps.js";
import { type FoundWait, type ReconcileAction, reconcileWait } from "./reconcile-wait.js";
import type { GateRecord } from "./record.js";

export { COMPLETION_LEASE_SECONDS } from "./active-wait.js";
export type { ReconcileAction } from "./reconcile-wait.js";
export { ADOPT_AFTER_SECONDS } from "./sighting.js";

/**
 * The reconciler: the level-triggered safety net under the event-driven gate. On a schedule, for each
 * configured group, it looks at every instance waiting at a launch hook and makes sure something is
 * driving it to an outcome (reconcile-wait.ts):
 * - no record (lifecycle event lost, or the wait began before launchgate was deployed): sight it, and
 *   adopt it on a later run unless the event arrived meanwhile (sighting.ts);
 * - an outcome claimed but not delivered (crash between claim and CompleteLifecycleAction): deliver it,
 *   once the claimer's lease has passed;
 * - past its deadline: abandon with the reason;
 * - a live wait: record a heartbeat if due (so a dead chain cannot let the hook time out), and re-kick
 *   its re-check chain when the chain itself has shown no sign of life for too long.
 * For a group that drains, it also looks at every instance in `Terminating:Wait`: one with no drain
 * recorded lost its terminate event, and gets its drain started (shared/drain/rescue.ts).
 * Idempotent with the event-driven path: every write is conditional, and an extra re-check of a step
 * that already moved on is dropped as stale. Its cost is bounded as groups grow: one batched read per
 * hundred waits, a few waits at a time, the most urgent first, and it stops starting work before its
 * own timeout.
 */

/** Waits handled at once: enough to finish a thousand waits in minutes, few enough not to be throttled. */
export const RECONCILE_CONCURRENCY = 8;
/** No wait is started with less than this left of the run: a started wait takes seconds, a slow one ~30 s. */
export const RECONCILE_SAFETY_MARGIN_MS = 60_000;
/**
 * Waits that failed (throttling, mostly) are tried again within the same run, this many times, this
 * long apart: the next run may come too late for a hook that needed this run's heartbeat.
 */
export const RECONCILE_RETRY_PASSES = 3;
export const RECONCILE_RETRY_PAUSE_MS = 10_000;

export interface ReconcileOptions {
  /** Milliseconds left before the run is killed (the Lambda context's); absent: no time limit. */
  readonly remainingMs?: () => number;
  /** The drain's wiring, to rescue drains whose terminate event was lost; absent: drains are not looked at. */
  readonly drains?: DrainDeps;
}

export interface ReconcileEntry {
  readonly group: string;
  readonly instanceId: string;
  readonly action: ReconcileAction;
  readonly detail?: string;
}

const WAITING = new Set(["Pending:Wait", "Warmed:Pending:Wait"]);
/** Where a drain hook holds a leaving instance (docs/aws-facts.md, terminate lifecycle hooks). */
const TERMINATING_WAIT = "Terminating:Wait";

/** An instance of a draining group waiting at a terminate hook. */
interface LeavingInstance {
  readonly group: RuntimeGroup;
  readonly instanceId: string;
}

interface GroupWait extends FoundWait {
  readonly group: RuntimeGroup;
  /** Why the wait's record could not be read, when it could not. */
  readonly loadError?: string;
}

/**
 * Reconciles every waiting instance of every configured group; one entry per wait, most urgent first.
 * With a time budget, waits that failed are retried in later passes of the same run.
 */
export async function reconcile(deps: GateDeps, options: ReconcileOptions = {}): Promise<ReconcileEntry[]> {
  const remaining = () => options.remainingMs?.() ?? Number.POSITIVE_INFINITY;
  const rescue = (leaving: readonly LeavingInstance[]) =>
    options.drains && leaving.length > 0
      ? rescuePass(deps, options.drains, leaving, remaining)
      : Promise.resolve([]);
  let found = await findAllWaits(deps, deps.config.groups);
  // Drains first: their limit is short, and each one is a single conditional write and a message.
  let drained = await rescue(found.leaving);
  let entries = await reconcilePass(deps, found.waits, remaining);
  for (let pass = 1; pass <= RECONCILE_RETRY_PASSES && options.remainingMs; pass++) {
    const failed = entries.filter((e) => e.action === "error");
    const failedRescues = new Set(drained.filter((e) => e.action === "error").map((e) => e.instanceId));
    if (failed.length === 0 && failedRescues.size === 0 && found.failedGroups.length === 0) break;
    if (remaining() < RECONCILE_SAFETY_MARGIN_MS + RECONCILE_RETRY_PAUSE_MS) break;
    await sleepOf(deps)(RECONCILE_RETRY_PAUSE_MS);
    // Groups whose read failed are read again; their waits, and their leaving instances, join this pass.
    const again = await findAllWaits(
      deps,
      found.failedGroups.map((f) => f.group),
    );
    // A rescue that failed (its heartbeat throttled, mostly) is tried again too: the next run may come
    // after the terminate hook's timeout, which would end the instance undrained.
    const rescuedAgain = await rescue([
      ...found.leaving.filter((one) => failedRescues.has(one.instanceId)),
      ...again.leaving,
    ]);
    drained = replacing(drained, rescuedAgain);
    const retried = await reconcilePass(
      deps,
      [...(await reread(deps, found.waits, failed)), ...again.waits],
      remaining,
    );
    entries = replacing(entries, retried);
    found = {
      waits: [...found.waits, ...again.waits],
      leaving: [...found.leaving, ...again.leaving],
      failedGroups: again.failedGroups,
    };
  }
  const groupErrors = found.failedGroups.map((f) =>
    logged(deps, { group: f.group.name, instanceId: "-", action: "error", detail: f.detail }),
  );
  return [...groupErrors, ...drained, ...entries];
}

/** The entries with each retried instance's new entry in place of its earlier one, new ones added. */
function replacing(entries: readonly ReconcileEntry[], retried: readonly ReconcileEntry[]): ReconcileEntry[] {
  const byId = new Map(entries.map((e) => [e.instanceId, e]));
  for (const e of retried) byId.set(e.instanceId, e);
  return [...byId.values()];
}

/** Every leaving instance: a drain must be driving it (rescue.ts); one's failure never stops the rest. */
function rescuePass(
  deps: GateDeps,
  drains: DrainDeps,
  leaving: readonly LeavingInstance[],
  remaining: () => number,
): Promise<ReconcileEntry[]> {
  return runBounded(
    leaving,
    { concurrency: RECONCILE_CONCURRENCY, canStart: () => remaining() >= RECONCILE_SAFETY_MARGIN_MS },
    (one) =>
      withCorrelation({ instanceId: one.instanceId, autoScalingGroupName: one.group.name }, async () => {
        try {
          return logged(deps, {
            ...leavingEntry(one),
            ...(await rescueDrain(drains, one.group, one.instanceId)),
          });
        } catch (error) {
          return logged(deps, { ...leavingEntry(one), action: "error", detail: errorMessage(error) });
        }
      }),
    (one) => logged(deps, { ...leavingEntry(one), action: "deferred", detail: "the next run takes it" }),
  );
}

function leavingEntry(one: LeavingInstance): Pick<ReconcileEntry, "group" | "instanceId"> {
  return { group: one.group.name, instanceId: one.instanceId };
}

/** Every waiting instance of these groups; a group whose read fails is set aside, not the whole run. */
async function findAllWaits(
  deps: GateDeps,
  groups: readonly RuntimeGroup[],
): Promise<{
  waits: GroupWait[];
  leaving: LeavingInstance[];
  failedGroups: { group: RuntimeGroup; detail: string }[];
}> {
  const waits: GroupWait[] = [];
  const leaving: LeavingInstance[] = [];
  const failedGroups: { group: RuntimeGroup; detail: string }[] = [];
  for (const group of groups) {
    try {
      const found = await findWaits(deps, group);
      waits.push(...found.waits);
      leaving.push(...found.leaving);
    } catch (error) {
      failedGroups.push({ group, detail: errorMessage(error) });
    }
  }
  return { waits, leaving, failedGroups };
}

function reconcilePass(
  deps: GateDeps,
  waits: readonly GroupWait[],
  remaining: () => number,
): Promise<ReconcileEntry[]> {
  return runBounded(
    byUrgency(waits),
    { concurrency: RECONCILE_CONCURRENCY, canStart: () => remaining() >= RECONCILE_SAFETY_MARGIN_MS },
    (wait) => reconcileOne(deps, wait),
    (wait) => {
      const detail = `less than ${RECONCILE_SAFETY_MARGIN_MS / 1000} s of this run left; the next run takes it`;
      return logged(deps, entry(wait, { action: "deferred", detail }));
    },
  );
}

/** The failed waits again, with their records read afresh (another invocation may have moved them). */
async function reread(
  deps: GateDeps,
  waits: readonly GroupWait[],
  failed: readonly ReconcileEntry[],
): Promise<GroupWait[]> {
  const ids = new Set(failed.map((e) => e.instanceId));
  const again = waits.filter((w) => ids.has(w.instanceId));
  try {
    const records = await deps.store.loadMany(again.map((w) => w.instanceId));
    return again.map((w) => ({ ...w, record: records.get(w.instanceId), loadError: undefined }));
  } catch (error) {
    return again.map((w) => ({ ...w, loadError: errorMessage(error) }));
  }
}

/**
 * The group's waiting instances with their records, read in batches. A group with a warm pool has its
 * pool's instances listed by DescribeWarmPool (docs/aws-facts.md, warm pools): a launch into the pool
 * waits there, in `Warmed:Pending:Wait`. Whether DescribeAutoScalingGroups lists them too is
 * unconfirmed, so both lists are read, and an instance in both counts once. A group without a pool
 * costs no extra call.
 */
async function findWaits(
  deps: GateDeps,
  group: RuntimeGroup,
): Promise<{ waits: GroupWait[]; leaving: LeavingInstance[] }> {
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
  );
  const described = AutoScalingGroups?.[0];
  const instances = [...(described?.Instances ?? [])];
  if (described?.WarmPoolConfiguration) instances.push(...(await warmPoolInstances(deps, group.name)));
  const states = new Map<string, string>();
  const leaving = new Set<string>();
  for (const instance of instances) {
    const state = String(instance.LifecycleState ?? "");
    if (instance.InstanceId && WAITING.has(state) && !states.has(instance.InstanceId))
      states.set(instance.InstanceId, state);
    if (instance.InstanceId && group.drain && state === TERMINATING_WAIT) leaving.add(instance.InstanceId);
  }
  const leavingOnes = [...leaving].map((instanceId) => ({ group, instanceId }));
  const found = [...states].map(([instanceId, state]) => ({ instanceId, state }));
  if (found.length === 0) return { waits: [], leaving: leavingOnes };
  let records: Map<string, GateRecord>;
  try {
    records = await deps.store.loadMany(found.map((wait) => wait.instanceId));
  } catch (error) {
    // Reported per wait, as a failed single read was; the other groups carry on.
    const waits = found.map((wait) => ({
      ...wait,
      group,
      record: undefined,
      loadError: errorMessage(error),
    }));
    return { waits, leaving: leavingOnes };
  }
  return {
    waits: found.map((wait) => ({ ...wait, group, record: records.get(wait.instanceId) })),
    leaving: leavingOnes,
  };
}

/** DescribeWarmPool's largest page (MaxRecords). */
export const WARM_POOL_PAGE_SIZE = 50;
/** Pages read in one run, at most: 5,000 instances, beyond any sensible pool. */
const WARM_POOL_MAX_PAGES = 100;

/** Every instance of the group's warm pool, page by page. */
async function warmPoolInstances(deps: GateDeps, groupName: string): Promise<Instance[]> {
  const instances: Instance[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < WARM_POOL_MAX_PAGES; page += 1) {
    const output = await deps.autoScaling.send(
      new DescribeWarmPoolCommand({
        AutoScalingGroupName: groupName,
        MaxRecords: WARM_POOL_PAGE_SIZE,
        ...(nextToken ? { NextToken: nextToken } : {}),
      }),
    );
    instances.push(...(output.Instances ?? []));
    if (!output.NextToken || output.NextToken === nextToken) return instances;
    nextToken = output.NextToken;
  }
  // The waits read so far still get their heartbeats; the rest wait for a later run.
  deps.log.warn("warm pool listing cut short", { groupName, pages: WARM_POOL_MAX_PAGES });
  return instances;
}

/**
 * Oldest heartbeat first: those hooks are closest to timing out. A wait without a record has never
 * been heartbeated by the gate, so it comes before all others.
 */
export function byUrgency<W extends { readonly record: GateRecord | undefined }>(waits: readonly W[]): W[] {
  const heartbeat = (wait: W) => wait.record?.lastHeartbeatAt ?? Number.NEGATIVE_INFINITY;
  return [...waits].sort((a, b) => heartbeat(a) - heartbeat(b));
}

async function reconcileOne(deps: GateDeps, wait: GroupWait): Promise<ReconcileEntry> {
  // Every line logged for this wait names it, as the event-driven gate's lines do (the saved queries
  // filter on instanceId); the waits of one run are handled at once, so the keys are scoped to each.
  return withCorrelation({ instanceId: wait.instanceId, autoScalingGroupName: wait.group.name }, async () => {
    if (wait.loadError !== undefined)
      return logged(deps, entry(wait, { action: "error", detail: wait.loadError }));
    try {
      return logged(deps, entry(wait, await reconcileWait(deps, wait.group, wait)));
    } catch (error) {
      // A skip is a normal stop (the wait ended meanwhile). Anything else is one instance's trouble,
      // which must not stop the others; the next run tries again.
      const action = error instanceof SkipEventError ? "stopped" : "error";
      return logged(deps, entry(wait, { action, detail: errorMessage(error) }));
    }
  });
}

function entry(wait: GroupWait, outcome: { action: ReconcileAction; detail?: string }): ReconcileEntry {
  return { group: wait.group.name, instanceId: wait.instanceId, ...outcome };
}

function logged(deps: GateDeps, reconciled: ReconcileEntry): ReconcileEntry {
  const level = reconciled.action === "error" ? "error" : reconciled.action === "deferred" ? "warn" : "info";
  deps.log[level]("reconciled waiting instance", { ...reconciled });
  const rescue = RESCUES[reconciled.action];
  if (rescue) emitAll(deps, rescueMetrics(reconciled.group, rescue));
  return reconciled;
}

/** The reconciler's actions that did what the event-driven gate should have: each one is worth a look. */
const RESCUES: Partial<Record<ReconcileAction, RescueAction>> = {
  adopted: "adopted",
  "completion-resumed": "completion-resumed",
  kicked: "kicked",
  continued: "decided-at-deadline",
  abandoned: "decided-at-deadline",
  "drain-rescued": "drain-rescued",
  "drain-kicked": "kicked",
};
