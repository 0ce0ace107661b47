import type { OperationRecord } from "../shared/ops/operation.js";
import type { InstanceResult } from "./results.js";
import type { World } from "./world.js";

/**
 * SIMULATION — the invariants every scenario must keep, checked after the run. The models flag others
 * as they happen: CONTINUE while not healthy in every target group, a hook timing out without the gate
 * deciding, ABANDON of an instance every target group reported healthy, a remediation command on the
 * last healthy target.
 */
export function checkInvariants(
  world: World,
  instances: readonly InstanceResult[],
  operations: readonly OperationRecord[],
): string[] {
  const violations: string[] = [];
  for (const denied of world.router.denied)
    violations.push(`IAM denied a call the handler needed: ${denied}`);
  for (const op of operations) {
    if (op.status === "running")
      violations.push(
        `operation ${op.operationId} (${op.kind}) never reached a final state (step ${op.step})`,
      );
  }
  for (const instance of instances) {
    // Pending:Wait, or Warmed:Pending:Wait for a launch into a warm pool.
    if (instance.finalState.endsWith("Pending:Wait")) {
      violations.push(`${instance.id} is still waiting at the hook when the scenario ended`);
    }
    const decided = instance.hookResult === "CONTINUE" || instance.hookResult === "ABANDON";
    if (decided && !instance.gate?.reason) {
      violations.push(`${instance.id} left the hook (${instance.hookResult}) without a recorded reason`);
    }
    if (decided && instance.gate?.outcome !== instance.hookResult) {
      violations.push(
        `${instance.id}: the hook got ${instance.hookResult} but the gate record says ${instance.gate?.outcome}`,
      );
    }
    if (instance.finalState === "InService" && instance.hookResult !== "CONTINUE") {
      violations.push(`${instance.id} is InService without the gate's CONTINUE`);
    }
  }
  const byToken = new Map<string, Set<string>>();
  const accepted = new Map<string, number>();
  for (const attempt of world.asg.completionAttempts) {
    byToken.set(attempt.token, (byToken.get(attempt.token) ?? new Set()).add(attempt.result));
    if (attempt.accepted) accepted.set(attempt.token, (accepted.get(attempt.token) ?? 0) + 1);
  }
  for (const [token, results] of byToken) {
    if (results.size > 1)
      violations.push(`wait ${token} was sent conflicting results: ${[...results].join(" and ")}`);
  }
  for (const [token, count] of accepted) {
    if (count > 1) violations.push(`wait ${token} was completed ${count} times`);
  }
  return violations;
}
