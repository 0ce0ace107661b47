import type { RuntimeGroup } from "../../config/runtime-config.js";
import type { RefusalReasonClass } from "../../metrics/metric-names.js";

/**
 * The remediation decisions, as pure functions: which instances an alarm is about, how many of them
 * an episode may touch, and which rung of the ladder each gets.
 */

export interface Candidate {
  readonly instanceId: string;
  readonly lifecycle: string;
  /** Healthy in every target group of the group, right now. */
  readonly healthy: boolean;
}

export interface Decision {
  readonly instanceId: string;
  readonly verdict: "act" | "skip" | "refuse";
  readonly reason: string;
  /** For a refusal: its class, as counted in the RemediationRefusals metric. */
  readonly refusal?: RefusalReasonClass;
}

/**
 * The instances an alarm is about: those named by its InstanceId dimension; otherwise (a target-group
 * alarm such as UnHealthyHostCount) the group's unhealthy targets. Only InService instances qualify.
 */
export function selectTargets(
  namedInstanceIds: readonly string[],
  instances: readonly Candidate[],
): Decision[] {
  const named = namedInstanceIds.length > 0;
  const considered = named
    ? instances.filter((i) => namedInstanceIds.includes(i.instanceId))
    : instances.filter((i) => !i.healthy);
  return considered.map((instance) =>
    instance.lifecycle === "InService"
      ? {
          instanceId: instance.instanceId,
          verdict: "act",
          reason: named ? "named by the alarm" : "unhealthy in its target group",
        }
      : {
          instanceId: instance.instanceId,
          verdict: "skip",
          reason: `is ${instance.lifecycle}, not InService`,
        },
  );
}

/**
 * Caps an episode at maxInstances and maxPercentOfGroup (rounded down, at least one), and never acts on
 * the last healthy instance: restarting or replacing it would leave nothing serving.
 */
export function limitBlastRadius(
  decisions: readonly Decision[],
  instances: readonly Candidate[],
  group: RuntimeGroup,
): Decision[] {
  const { maxInstances, maxPercentOfGroup } = group.remediation;
  const inService = instances.filter((i) => i.lifecycle === "InService");
  const cap = Math.min(maxInstances, Math.max(1, Math.floor((inService.length * maxPercentOfGroup) / 100)));
  const healthy = new Set(inService.filter((i) => i.healthy).map((i) => i.instanceId));
  let acting = 0;
  return decisions.map((decision) => {
    if (decision.verdict !== "act") return decision;
    if (healthy.has(decision.instanceId) && healthy.size <= 1) {
      return {
        ...decision,
        verdict: "refuse",
        refusal: "last-healthy",
        reason: "it is the last healthy instance",
      };
    }
    if (acting >= cap) {
      return {
        ...decision,
        verdict: "refuse",
        refusal: "blast-radius",
        reason: `blast radius: at most ${cap} instance(s) per alarm episode (maxInstances ${maxInstances}, ${maxPercentOfGroup} % of ${inService.length})`,
      };
    }
    acting += 1;
    return decision;
  });
}

export interface RemediationHistory {
  /** When each restart attempt was made (epoch ms). */
  readonly restarts: readonly number[];
  /** When the last action (restart or replacement) was taken. */
  readonly lastActionAt?: number;
  /** The operation that took it: a retried step of that same operation is not held back by the cooldown. */
  readonly lastOperationId?: string;
}

export type Rung =
  | { readonly rung: "restart" }
  | { readonly rung: "replace"; readonly reason: string }
  | { readonly rung: "skip"; readonly reason: string };

/**
 * The ladder: restart while fewer than `restartAttempts` restarts happened within the window, then
 * replace. The cooldown keeps a flapping alarm from acting again on an instance it just acted on —
 * except within the same episode, where a failed restart leads straight to the next rung.
 */
export function nextRung(
  history: RemediationHistory,
  group: RuntimeGroup,
  now: number,
  sameEpisode: boolean,
): Rung {
  const { restartAttempts, attemptWindowMinutes, cooldownMinutes } = group.remediation;
  if (
    !sameEpisode &&
    history.lastActionAt !== undefined &&
    now - history.lastActionAt < cooldownMinutes * 60_000
  ) {
    return {
      rung: "skip",
      reason: `cooldown: acted on it ${Math.round((now - history.lastActionAt) / 1000)} s ago (cooldown ${cooldownMinutes} min)`,
    };
  }
  const recent = history.restarts.filter((at) => now - at < attemptWindowMinutes * 60_000).length;
  if (recent >= restartAttempts) {
    return {
      rung: "replace",
      reason: `${recent} restart(s) in the last ${attemptWindowMinutes} min did not keep it healthy`,
    };
  }
  return { rung: "restart" };
}
