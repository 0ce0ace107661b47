import { DescribeAutoScalingGroupsCommand, SetDesiredCapacityCommand } from "@aws-sdk/client-auto-scaling";
import { attachedTargetGroupArns } from "../gate/attached-target-groups.js";
import type { OpsDeps } from "./advance-operation.js";
import { nextVersion, type OperationRecord } from "./operation.js";
import { readTargetGroupHealth } from "./remediation/outage.js";

/**
 * Surge: keep serving while the only instances of a group are worked on, by adding one first. The group
 * scales out by one; the new instance passes the launch gate like any launch; once every target group
 * has a healthy target the operation will not touch, the work begins; at the end the desired capacity
 * goes back to what it was (Auto Scaling then drains and terminates one instance by its own policy).
 */

export type SurgeProgress =
  | { readonly kind: "waiting"; readonly op: OperationRecord }
  | { readonly kind: "ready"; readonly op: OperationRecord }
  | { readonly kind: "failed"; readonly reason: string };

export async function advanceSurge(
  deps: OpsDeps,
  op: OperationRecord,
  gateSeconds: number,
): Promise<SurgeProgress> {
  const now = deps.now();
  const { AutoScalingGroups } = await deps.autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [op.groupName] }),
  );
  const group = AutoScalingGroups?.[0];
  if (!group) return { kind: "failed", reason: `group ${op.groupName} no longer exists` };
  if (op.surge?.originalDesired === undefined) {
    const desired = group.DesiredCapacity ?? 0;
    if (desired + 1 > (group.MaxSize ?? 0)) {
      return {
        kind: "failed",
        reason: `surge refused: ${op.groupName} is at its maximum size (${group.MaxSize}); raise MaxSize by one, or use force to accept downtime`,
      };
    }
    await deps.autoScaling.send(
      new SetDesiredCapacityCommand({
        AutoScalingGroupName: op.groupName,
        DesiredCapacity: desired + 1,
        HonorCooldown: false,
      }),
    );
    deps.log.info("surge: scaled out by one before maintenance", {
      operationId: op.operationId,
      desiredCapacity: desired + 1,
    });
    const surged = nextVersion(
      op,
      { surge: { originalDesired: desired, deadline: now + gateSeconds * 1000 } },
      now,
    );
    return { kind: "waiting", op: surged };
  }
  // Ready once each target group has a healthy target outside the operation's list that is InService:
  // the new instance, through its launch gate (healthy while still held at the hook is not enough —
  // the gate may yet abandon it).
  const inService = new Set(
    (group.Instances ?? []).filter((i) => i.LifecycleState === "InService").map((i) => i.InstanceId),
  );
  const untouched = (ids: ReadonlySet<string>) =>
    [...ids].some((id) => !op.instanceIds.includes(id) && inService.has(id));
  const health = await readTargetGroupHealth(deps, attachedTargetGroupArns(group));
  if (health.length > 0 && health.every((tg) => untouched(tg.healthyIds))) return { kind: "ready", op };
  if (now >= (op.surge.deadline ?? now)) {
    return {
      kind: "failed",
      reason: `surge: no new instance was serving within ${gateSeconds} s (the launch gate's deadline): nothing was touched`,
    };
  }
  return { kind: "waiting", op };
}

/** Puts the desired capacity back after a surge (once), on the operation's final version. */
export async function restoreSurge(deps: OpsDeps, op: OperationRecord): Promise<OperationRecord> {
  if (!op.surge || op.surge.originalDesired === undefined || op.surge.restored) return op;
  await deps.autoScaling.send(
    new SetDesiredCapacityCommand({
      AutoScalingGroupName: op.groupName,
      DesiredCapacity: op.surge.originalDesired,
      HonorCooldown: false,
    }),
  );
  deps.log.info("surge: desired capacity restored", {
    operationId: op.operationId,
    desiredCapacity: op.surge.originalDesired,
  });
  // Part of the write that ends the operation (already a new version): no version of its own.
  return { ...op, surge: { ...op.surge, restored: true } };
}
