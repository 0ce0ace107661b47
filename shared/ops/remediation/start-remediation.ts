import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import type { RuntimeGroup } from "../../config/runtime-config.js";
import { SkipEventError } from "../../errors.js";
import type { AlarmEvent } from "../../events/parse-alarm.js";
import { attachedTargetGroupArns } from "../../gate/attached-target-groups.js";
import { emitAll } from "../../metrics/emit.js";
import { remediationRefusalMetrics } from "../../metrics/operation-metrics.js";
import { launchOperation, type OpsDeps } from "../advance-operation.js";
import { preflight } from "../preflight.js";
import { readTargetGroupHealth, systemicOutage, type TargetGroupHealth } from "./outage.js";
import { type Candidate, type Decision, limitBlastRadius, selectTargets } from "./policy.js";

export interface RemediationPlan {
  readonly group: string;
  readonly dryRun: boolean;
  readonly decisions: readonly Decision[];
  readonly operationId?: string;
}

/**
 * An alarm went to ALARM: for each group that names it, decide which instances to act on (every
 * decision logged with its reason), and start one remediation operation over them — or, in dry-run
 * mode, only log what it would do.
 */
export async function startRemediation(deps: OpsDeps, alarm: AlarmEvent): Promise<RemediationPlan[]> {
  const groups = deps.config.groups.filter((group) => group.remediation.alarms.includes(alarm.alarmName));
  if (groups.length === 0)
    throw new SkipEventError("alarm is not configured for remediation", { alarmName: alarm.alarmName });
  const plans: RemediationPlan[] = [];
  for (const group of groups) {
    const { candidates, targetGroups } = await candidatesOf(deps, group);
    // A shared outage first: it is the reason nothing acts, whatever the blast radius would allow.
    const selected = limitBlastRadius(
      refusedWhenSystemic(selectTargets(alarm.instanceIds, candidates), targetGroups, group),
      candidates,
      group,
    );
    const decisions: Decision[] = [];
    for (const decision of selected)
      decisions.push(decision.verdict === "act" ? await stillFree(deps, decision, group) : decision);
    for (const decision of decisions) {
      deps.log.info(`remediation decision: ${decision.verdict}`, {
        alarmName: alarm.alarmName,
        groupName: group.name,
        ...decision,
      });
      if (decision.refusal) emitAll(deps, remediationRefusalMetrics(group.name, decision.refusal));
    }
    const act = decisions.filter((d) => d.verdict === "act").map((d) => d.instanceId);
    const { dryRun } = group.remediation;
    if (dryRun || act.length === 0) {
      if (dryRun && act.length > 0)
        deps.log.info("remediation dry run: no action taken", {
          alarmName: alarm.alarmName,
          wouldActOn: act,
        });
      plans.push({ group: group.name, dryRun, decisions });
      continue;
    }
    const operation = await launchOperation(deps, {
      kind: "remediate",
      alarmName: alarm.alarmName,
      groupName: group.name,
      bootstrapPhase: "start",
      instanceIds: act,
    });
    plans.push({ group: group.name, dryRun, decisions, operationId: operation.operationId });
  }
  return plans;
}

/**
 * Every instance of the group, healthy when every target group of the group reports it healthy, and
 * what each target group says of its targets (for the shared-outage check).
 */
async function candidatesOf(
  deps: OpsDeps,
  group: RuntimeGroup,
): Promise<{ candidates: Candidate[]; targetGroups: TargetGroupHealth[] }> {
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
  );
  const asg = AutoScalingGroups?.[0];
  const targetGroups = await readTargetGroupHealth(deps, attachedTargetGroupArns(asg));
  const candidates = (asg?.Instances ?? []).map((instance) => ({
    instanceId: instance.InstanceId ?? "",
    lifecycle: String(instance.LifecycleState ?? ""),
    healthy:
      targetGroups.length > 0 && targetGroups.every((tg) => tg.healthyIds.has(instance.InstanceId ?? "")),
  }));
  return { candidates, targetGroups };
}

/** In a shared outage, every instance the alarm would act on is refused, with the numbers. */
function refusedWhenSystemic(
  decisions: readonly Decision[],
  targetGroups: readonly TargetGroupHealth[],
  group: RuntimeGroup,
): Decision[] {
  const systemic = systemicOutage(targetGroups, group.remediation.systemicThresholdPercent);
  if (!systemic) return [...decisions];
  return decisions.map((decision) =>
    decision.verdict === "act"
      ? { ...decision, verdict: "refuse", refusal: "systemic", reason: systemic }
      : decision,
  );
}

/** "Not already being handled": no launch gate in progress, no other operation holding it. */
async function stillFree(deps: OpsDeps, decision: Decision, group: RuntimeGroup): Promise<Decision> {
  const check = await preflight(deps, decision.instanceId, group.name);
  if (!check.ok) return { ...decision, verdict: "skip", reason: check.refusal };
  return decision;
}
