import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { InvalidInputError } from "../errors.js";
import { attachedTargetGroupArns } from "../gate/attached-target-groups.js";
import { resumeLaunchGate } from "../gate/resume-launch-gate.js";
import { launchOperation, type OpsDeps } from "./advance-operation.js";
import type { OperationRecord } from "./operation.js";
import { preflight } from "./preflight.js";
import { type RebootstrapRequest, batchSize as sizeOf } from "./rebootstrap-request.js";
import { readTargetGroupHealth } from "./remediation/outage.js";

/** What a re-bootstrap request did, or (dry run) would do, per instance. */
export interface RebootstrapPlan {
  readonly dryRun: boolean;
  /** Instances the operation re-bootstraps, in order, `batchSize` at a time. */
  readonly rebootstrap: readonly string[];
  /**
   * How many are worked on at once, at most; a wave still never takes the last healthy target of a
   * target group (that instance waits for the next wave).
   */
  readonly batchSize: number;
  /** Instances waiting at their launch hook: their launch gate is resumed instead. */
  readonly resumedLaunches: readonly { readonly instanceId: string; readonly detail: string }[];
  /** Instances of the group left alone, and why. */
  readonly notEligible: readonly { readonly instanceId: string; readonly reason: string }[];
  readonly operation?: OperationRecord;
}

/**
 * Checks a re-bootstrap request against AWS and either refuses it (InvalidInputError, nothing changed)
 * or starts the operation. A single instance that is not eligible is refused; for a group, ineligible
 * instances are listed and skipped, and only a group with nothing eligible is refused.
 */
export async function startRebootstrap(
  deps: OpsDeps,
  request: Extract<RebootstrapRequest, { kind: "instance" | "group" }>,
): Promise<RebootstrapPlan> {
  const candidates =
    request.kind === "instance"
      ? [request.instanceId ?? ""]
      : await groupInstances(deps, request.groupName ?? "");
  const rebootstrap: string[] = [];
  const resumedLaunches: { instanceId: string; detail: string }[] = [];
  const notEligible: { instanceId: string; reason: string }[] = [];
  let groupName = request.groupName ?? "";
  for (const instanceId of candidates) {
    const check = await preflight(deps, instanceId, request.kind === "group" ? groupName : undefined);
    if (check.ok) {
      rebootstrap.push(instanceId);
      groupName = check.group.name;
    } else if (check.waiting) {
      const detail = request.dryRun
        ? "would resume its launch gate"
        : await resumeLaunchGate(deps, check.group, instanceId, check.lifecycle.state);
      resumedLaunches.push({ instanceId, detail });
    } else if (request.kind === "instance") {
      throw new InvalidInputError(check.refusal);
    } else {
      notEligible.push({ instanceId, reason: check.refusal });
    }
  }
  if (rebootstrap.length === 0 && resumedLaunches.length === 0) {
    throw new InvalidInputError(`group ${groupName} has no InService instance to re-bootstrap`);
  }
  if (rebootstrap.length > 0 && !request.surge && !request.force)
    await refuseDrainingTheLastHealthy(deps, groupName, rebootstrap);
  const batchSize = sizeOf(request.batch, rebootstrap.length);
  if (request.surge && batchSize > 1) {
    // A surge adds one instance: a wave of more would still take serving capacity out.
    throw new InvalidInputError(
      `"surge" adds one instance, so it keeps serving capacity only one instance at a time, and this batch is ${batchSize}: use "surge" without "batch", or raise the group's desired capacity by ${batchSize} first and roll out in waves without "surge"`,
    );
  }
  const plan = { dryRun: request.dryRun, rebootstrap, batchSize, resumedLaunches, notEligible };
  if (request.dryRun || rebootstrap.length === 0) return plan;

  if (request.force) {
    deps.log.warn("re-bootstrap with force: the last healthy target may be drained; downtime accepted", {
      groupName,
      instances: rebootstrap,
    });
  }
  const operation = await launchOperation(deps, {
    kind: "rebootstrap",
    groupName,
    bootstrapPhase: request.phase,
    instanceIds: rebootstrap,
    batchSize,
    drainFirst: true,
    force: request.force,
    ...(request.surge ? { surge: {} } : {}),
    ...(request.drainSeconds === undefined ? {} : { drainSeconds: request.drainSeconds }),
    ...(request.documentVersion === undefined ? {} : { documentVersion: request.documentVersion }),
  });
  deps.log.info("re-bootstrap started", {
    operationId: operation.operationId,
    groupName,
    instances: rebootstrap,
    batchSize,
  });
  return { ...plan, operation };
}

/**
 * Each instance is drained before its command: one that is the only healthy target of a target group
 * would leave that group serving nothing. Refused unless the request says how to keep serving.
 */
async function refuseDrainingTheLastHealthy(
  deps: OpsDeps,
  groupName: string,
  instanceIds: readonly string[],
): Promise<void> {
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  const health = await readTargetGroupHealth(deps, attachedTargetGroupArns(AutoScalingGroups?.[0]));
  for (const tg of health) {
    const [only] = [...tg.healthyIds];
    if (tg.healthyIds.size === 1 && only && instanceIds.includes(only)) {
      throw new InvalidInputError(
        `${only} is the last healthy target of ${tg.name}: draining it for its re-bootstrap would leave ${tg.name} serving nothing. Add "surge": true (one more instance first, then back to the current size) or "force": true (accept the downtime)`,
      );
    }
  }
}

/** Every instance of a configured group, sorted so the order is stable and predictable. */
async function groupInstances(deps: OpsDeps, groupName: string): Promise<string[]> {
  if (!deps.config.groups.some((group) => group.name === groupName)) {
    const managed = deps.config.groups.map((group) => group.name).join(", ");
    throw new InvalidInputError(`group ${groupName} is not managed by launchgate (managed: ${managed})`);
  }
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [groupName] }),
  );
  return (AutoScalingGroups?.[0]?.Instances ?? [])
    .map((instance) => instance.InstanceId ?? "")
    .filter(Boolean)
    .sort();
}
