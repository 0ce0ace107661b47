import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { RuntimeGroup } from "../config/runtime-config.js";
import { errorMessage, SkipEventError } from "../errors.js";
import type { GateDeps } from "./deps.js";
import { abandonLaunch, resumeCompletion } from "./finish.js";
import { keepAlive, recheckCeilingSeconds, scheduleRecheck } from "./keep-alive.js";
import { recordHeartbeat } from "./lifecycle-actions.js";
import type { RecheckStep } from "./ports.js";
import { gateDeadlinePassed } from "./reasons.js";
import { advance, type GatePhase, type GateRecord, TOKENLESS_WAIT_PREFIX } from "./record.js";
import { openRecord } from "./start-gate.js";

/**
 * The reconciler: the level-triggered safety net under the event-driven gate. On a schedule, for each
 * configured group, it looks at every instance waiting at a launch hook and makes sure something is
 * driving it to an outcome:
 * - no record (lifecycle event lost, or the wait began before launchgate was deployed): the first run
 *   records a `sighted` placeholder and a heartbeat; a later run adopts it — unless the event arrived
 *   meanwhile, whose real token then replaces the placeholder;
 * - an outcome claimed but not delivered (crash between claim and CompleteLifecycleAction): deliver it;
 * - past its deadline: abandon with the reason;
 * - a live wait: record a heartbeat if due (so a dead chain cannot let the hook time out), and re-kick
 *   its re-check chain when nothing has moved for too long.
 * Idempotent with the event-driven path: every write is conditional, and an extra re-check of a step
 * that already moved on is dropped as stale.
 */

/** How long a sighted wait is left to its lifecycle event before the reconciler adopts it. */
export const ADOPT_AFTER_SECONDS = 240;
/** Beyond the heartbeat ceiling: a re-check's pace (≤ 60 s), SQS visibility (180 s), and slack. */
const STALL_SLACK_SECONDS = 300;

const WAITING = new Set(["Pending:Wait", "Warmed:Pending:Wait"]);
const STEP_FOR_PHASE: Partial<Record<GatePhase, RecheckStep>> = {
  "awaiting-agent": "agent",
  "sending-command": "agent",
  bootstrapping: "command",
  "awaiting-health": "health",
};

export type ReconcileAction =
  | "sighted"
  | "adopted"
  | "completion-resumed"
  | "abandoned"
  | "kicked"
  | "heartbeat"
  | "in-progress"
  | "stopped"
  | "error";

export interface ReconcileEntry {
  readonly group: string;
  readonly instanceId: string;
  readonly action: ReconcileAction;
  readonly detail?: string;
}

export async function reconcile(deps: GateDeps): Promise<ReconcileEntry[]> {
  const entries: ReconcileEntry[] = [];
  for (const group of deps.config.groups) {
    const { AutoScalingGroups } = await deps.autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
    );
    for (const instance of AutoScalingGroups?.[0]?.Instances ?? []) {
      const state = String(instance.LifecycleState ?? "");
      if (!instance.InstanceId || !WAITING.has(state)) continue;
      let entry: ReconcileEntry;
      try {
        entry = {
          group: group.name,
          instanceId: instance.InstanceId,
          ...(await reconcileWait(deps, group, instance.InstanceId, state)),
        };
      } catch (error) {
        // A skip is a normal stop (the wait ended meanwhile). Anything else is one instance's trouble,
        // which must not stop the others; the next run tries again.
        const action = error instanceof SkipEventError ? "stopped" : "error";
        entry = { group: group.name, instanceId: instance.InstanceId, action, detail: errorMessage(error) };
      }
      deps.log[entry.action === "error" ? "error" : "info"]("reconciled waiting instance", { ...entry });
      entries.push(entry);
    }
  }
  return entries;
}

type Outcome = { action: ReconcileAction; detail?: string };

async function reconcileWait(
  deps: GateDeps,
  group: RuntimeGroup,
  instanceId: string,
  state: string,
): Promise<Outcome> {
  let record = await deps.store.load(instanceId);
  if (record && (record.phase === "continued" || record.phase === "abandoned")) {
    if ((await resumeCompletion(deps, record)) === "completed")
      return { action: "completion-resumed", detail: record.outcome };
    record = undefined; // that wait had ended: the instance is in a new wait we have no record of
  }
  if (!record || record.phase === "gone") return sight(deps, group, instanceId, state);
  if (record.phase === "sighted") return adoptWhenDue(deps, group, record);
  if (deps.now() > record.deadline) {
    await abandonLaunch(deps, record, gateDeadlinePassed(group.gateTimeoutSeconds, record.phase));
    return { action: "abandoned", detail: record.phase };
  }
  const stalled =
    deps.now() - Math.max(record.phaseStartedAt, record.lastHeartbeatAt) > stallSeconds(group) * 1000;
  const kept = await keepAlive(deps, record, group.heartbeatTimeoutSeconds);
  const step = STEP_FOR_PHASE[record.phase];
  if (stalled && step) {
    await scheduleRecheck(deps, kept, step, 0, group, kept.commandId);
    return { action: "kicked", detail: `${record.phase}: no progress for over ${stallSeconds(group)} s` };
  }
  return { action: kept === record ? "in-progress" : "heartbeat", detail: record.phase };
}

/** A wait with no record: keep its hook alive and leave its lifecycle event a chance to arrive. */
async function sight(
  deps: GateDeps,
  group: RuntimeGroup,
  instanceId: string,
  state: string,
): Promise<Outcome> {
  const now = deps.now();
  const warm = state === "Warmed:Pending:Wait";
  const opened = openRecord(
    deps,
    {
      kind: "launch",
      instanceId,
      groupName: group.name,
      hookName: group.hookName,
      // Unique per sighting, so a later sighting of a later wait is a new record.
      token: `${TOKENLESS_WAIT_PREFIX}${instanceId}@${now}`,
      origin: "EC2",
      destination: warm ? "WarmPool" : "AutoScalingGroup",
    },
    group,
  );
  const sighted: GateRecord = {
    ...opened,
    phase: "sighted",
    history: [
      {
        at: now,
        phase: "sighted",
        note: `found in ${state} with no lifecycle event; waiting ${ADOPT_AFTER_SECONDS} s for one`,
      },
    ],
  };
  if ((await recordHeartbeat(deps, sighted)) === "not-active")
    return { action: "in-progress", detail: "wait ended meanwhile" };
  await deps.store.save(sighted);
  return { action: "sighted" };
}

async function adoptWhenDue(deps: GateDeps, group: RuntimeGroup, sighted: GateRecord): Promise<Outcome> {
  if (deps.now() - sighted.startedAt < ADOPT_AFTER_SECONDS * 1000) {
    await keepAlive(deps, sighted, group.heartbeatTimeoutSeconds);
    return { action: "in-progress", detail: "sighted; waiting for its lifecycle event" };
  }
  await adopt(deps, group, sighted, "adopted by the reconciler: no lifecycle event arrived");
  return { action: "adopted" };
}

/** Opens the gate for a sighted wait. The hook was heartbeated at sighting; the gate's budget starts now. */
async function adopt(deps: GateDeps, group: RuntimeGroup, sighted: GateRecord, note: string): Promise<void> {
  const now = deps.now();
  const adopted = advance(
    sighted,
    {
      phase: "awaiting-agent",
      startedAt: now,
      deadline: now + group.gateTimeoutSeconds * 1000,
      phaseDeadline: now + group.agentTimeoutSeconds * 1000,
    },
    note,
    now,
  );
  await scheduleRecheck(deps, adopted, "agent", 0, group);
  await deps.store.save(adopted);
}

function stallSeconds(group: RuntimeGroup): number {
  return recheckCeilingSeconds(group.heartbeatTimeoutSeconds) + STALL_SLACK_SECONDS;
}

/**
 * An operator asked to re-bootstrap an instance that is waiting at its launch hook: resume its launch
 * gate instead — re-kick a live chain, or open the gate now for a wait no event told us about.
 */
export async function resumeLaunchGate(
  deps: GateDeps,
  group: RuntimeGroup,
  instanceId: string,
  state: string,
): Promise<string> {
  const record = await deps.store.load(instanceId);
  const step = record ? STEP_FOR_PHASE[record.phase] : undefined;
  if (record && step) {
    await scheduleRecheck(deps, record, step, 0, group, record.commandId);
    return `launch gate re-kicked (it was ${record.phase})`;
  }
  const note = "opened on an operator's re-bootstrap request: no lifecycle event had arrived";
  if (record?.phase === "sighted") {
    await adopt(deps, group, record, note);
  } else {
    await sight(deps, group, instanceId, state);
    const sighted = await deps.store.load(instanceId);
    if (sighted?.phase === "sighted") await adopt(deps, group, sighted, note);
  }
  return "launch gate started for a wait no lifecycle event announced";
}
