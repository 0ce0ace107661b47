import { unmarshall } from "@aws-sdk/util-dynamodb";
import type { DrainRecord } from "../shared/drain/record.js";
import type { World } from "./world.js";

/**
 * SIMULATION — what became of each instance that left a draining group (scale-in held at the drain
 * hook): its phases, from the moment the group decided it leaves, and the drain record's outcome.
 */

export interface DrainPhases {
  /** Seconds after the group decided the instance leaves, to a tenth. */
  readonly deregistered?: number;
  readonly waitBegan?: number;
  readonly drainSent?: number;
  readonly completed?: number;
  readonly terminated?: number;
}

export interface DrainResult {
  readonly id: string;
  readonly group: string;
  /** How the terminate wait ended: CONTINUE (the drain completed it), or TIMEOUT (its heartbeat timeout). */
  readonly hookResult?: string;
  /** Whether the completion named the wait by token (the event's) or by instance id (a rescue). */
  readonly completedBy?: "token" | "instance id";
  readonly drain?: Pick<DrainRecord, "phase" | "outcome" | "reason" | "rescued">;
  /** The longest deregistration delay of its target groups (their attribute), in seconds. */
  readonly deregistrationDelaySeconds: number;
  readonly phases: DrainPhases;
}

export function collectDrains(world: World): DrainResult[] {
  const records = new Map<string, DrainRecord>();
  for (const item of world.dynamodb.items(world.tableFromOutput("GateStateTable"))) {
    const raw = unmarshall(item);
    if (!String(raw.instanceId).startsWith("drain#")) continue;
    records.set(String(raw.drainedInstanceId), raw as DrainRecord);
  }
  const leaving = [...world.asg.instances.values()].filter((i) => i.leavingAt !== undefined);
  return leaving.map((instance) => {
    const from = instance.leavingAt ?? 0;
    const seconds = (at: number | undefined) =>
      at === undefined ? undefined : Math.round((at - from) / 100) / 10;
    const first = (what: RegExp) =>
      world.context.timeline.find((e) => e.instanceId === instance.id && e.at >= from && what.test(e.what))
        ?.at;
    const record = records.get(instance.id);
    const completion = instance.completions.at(-1);
    return {
      id: instance.id,
      group: instance.group.name,
      hookResult: completion?.result,
      ...(completion ? { completedBy: completion.byInstanceId ? "instance id" : "token" } : {}),
      deregistrationDelaySeconds: Math.max(
        0,
        ...instance.group.targetGroupArns.map(
          (arn) => world.elb.targetGroups.get(arn)?.deregistrationDelaySeconds ?? 0,
        ),
      ),
      drain: record && {
        phase: record.phase,
        outcome: record.outcome,
        reason: record.reason,
        rescued: record.rescued,
      },
      phases: {
        deregistered: seconds(first(/^deregistered from .* by Auto Scaling/)),
        waitBegan: seconds(instance.terminateWaitAt),
        drainSent: seconds(first(/^drain command \w+ received/)),
        completed: seconds(completion?.at),
        terminated: seconds(instance.terminatedAt),
      },
    } satisfies DrainResult;
  });
}

/**
 * Every instance that waited at a drain hook was drained: a finished record with an outcome and a
 * reason, its wait completed by the drain. And in AWS's order: out of its target groups for their whole
 * deregistration delay before the wait began, and the drain command only in the wait.
 */
export function drainViolations(drains: readonly DrainResult[]): string[] {
  const violations: string[] = [];
  for (const drain of drains) {
    const { deregistered, waitBegan, drainSent } = drain.phases;
    if (waitBegan === undefined) continue;
    if (deregistered === undefined || waitBegan - deregistered < drain.deregistrationDelaySeconds)
      violations.push(
        `${drain.id} waited at the terminate hook ${waitBegan - (deregistered ?? 0)} s after leaving its target groups, before their ${drain.deregistrationDelaySeconds} s deregistration delay`,
      );
    if (drainSent !== undefined && drainSent < waitBegan)
      violations.push(`${drain.id} got its drain command before it waited at the terminate hook`);
    if (drain.drain?.phase !== "done" || !drain.drain.outcome || !drain.drain.reason)
      violations.push(
        `${drain.id} left its group without a finished drain (record: ${drain.drain?.phase ?? "none"})`,
      );
    if (drain.hookResult !== "CONTINUE")
      violations.push(
        `${drain.id}: its terminate wait ended ${drain.hookResult ?? "never"}, not by the drain's CONTINUE`,
      );
  }
  return violations;
}

export function renderDrains(drains: readonly DrainResult[]): string[] {
  if (drains.length === 0) return [];
  const at = (s: number | undefined) => (s === undefined ? "—" : `${s} s`);
  return [
    "",
    "drains (seconds after the group decided the instance leaves; the hook's wait begins after the target groups' deregistration delay)",
    ...drains.map(
      (d) =>
        `  ${d.id}  ${(d.drain?.outcome ?? "no drain").padEnd(12)} deregistered ${at(d.phases.deregistered)}, wait began ${at(d.phases.waitBegan)} (delay ${d.deregistrationDelaySeconds} s), drain sent ${at(d.phases.drainSent)}, hook completed ${at(d.phases.completed)} (by ${d.completedBy ?? "—"}), terminated ${at(d.phases.terminated)}: ${d.drain?.reason ?? ""}`,
    ),
  ];
}
