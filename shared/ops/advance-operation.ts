import { randomUUID } from "node:crypto";
import type { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { NotYetError, SkipEventError } from "../errors.js";
import type { GateDeps } from "../gate/deps.js";
import type { RecheckMessage } from "../gate/ports.js";
import { OPERATION_PACE_SECONDS } from "./command-steps.js";
import {
  halted,
  newOperation,
  nextVersion,
  type OperationRecord,
  settleWave,
  takeWave,
} from "./operation.js";
import { finishOperation, schedule } from "./operation-outcome.js";
import type { OperationStore } from "./ports.js";
import { advanceSurge } from "./surge.js";
import { passOverWave } from "./wave-pass.js";

export interface OpsDeps extends GateDeps {
  readonly operations: OperationStore;
  readonly cloudwatch: CloudWatchClient;
}

/**
 * Fast retries (5, 10, 20 s) of a re-check that arrives before the save it follows has landed: every
 * pass schedules its next re-check before it saves, and a re-check due at once can be picked up while
 * that save is still in flight (the first step's, before its operation exists at all). Their 35 s must
 * outlast the operations function's timeout, within which a pass's save lands or never does
 * (test/infra/launchgate-stack.test.ts checks it on the template).
 */
export const UNSAVED_RETRIES = 3;

/**
 * Starts an operation: its first step is scheduled before the record is saved, so a crash in between
 * leaves a re-check that finds no operation (dropped), never an operation that nothing drives.
 */
export async function launchOperation(
  deps: OpsDeps,
  fields: Parameters<typeof newOperation>[0],
): Promise<OperationRecord> {
  const operation = { ...newOperation(fields, randomUUID(), deps.now()), chain: randomUUID() };
  await schedule(deps, operation, 0);
  await deps.operations.save(operation);
  return operation;
}

/**
 * One step of an operation, run by each re-check: a pass over its wave in which every instance due is
 * moved on — started (preflight, lock, drain or send), its drain or command followed, its health
 * verified — then the next wave taken once this one is over. Each pass schedules the next re-check
 * before saving, so a failure anywhere is repaired by a retry of the same pass (every action in it is
 * safe to repeat: commands are adopted by their comment, registrations and locks are idempotent).
 *
 * A re-bootstrap starts no instance after a failed one. A remediation climbs its ladder instead: a
 * restart that does not restore health is followed by another, then by a replacement.
 */
export async function advanceOperation(
  deps: OpsDeps,
  operationId: string,
  attempt = 0,
  chain?: Pick<RecheckMessage, "chain" | "chainSince">,
): Promise<void> {
  const op = await deps.operations.load(operationId);
  if (!op) {
    // The first step is scheduled before the operation is saved, and SQS can deliver it before the
    // save lands: wait a little for it. Still absent after that, the starter died before saving.
    if (attempt < UNSAVED_RETRIES) throw new NotYetError("operation not saved yet", { operationId });
    throw new SkipEventError("no such operation", { operationId });
  }
  if (op.status !== "running") throw new SkipEventError("operation already finished", { status: op.status });
  if (chain?.chain !== undefined && chain.chain !== op.chain) {
    // Its pass may still be saving the record that names this chain: wait a little for the save. Once
    // the record is at (or past) that version under another chain, or the save never lands, the chain
    // lost: the record's own chain (or the retry of the pass that failed) drives the operation.
    const saveMayLand = chain.chainSince !== undefined && op.version < chain.chainSince;
    if (saveMayLand && attempt < UNSAVED_RETRIES)
      throw new NotYetError("the save this re-check follows has not landed yet", { operationId });
    if (saveMayLand || op.chain !== undefined)
      throw new SkipEventError("re-check of a chain that no longer drives the operation", { operationId });
  }
  if (op.step === "surging") return followSurge(deps, op);
  return advanceWave(deps, op);
}

async function advanceWave(deps: OpsDeps, loaded: OperationRecord): Promise<void> {
  const op = loaded.wave.length === 0 && !halted(loaded) ? takeWave(loaded) : loaded;
  const outcomes = await passOverWave(deps, op);
  const next = settleWave(op, outcomes, deps.now());
  if (next.status !== "running") return finishOperation(deps, next);
  // A pass in which every lane only waited (a drain, a command, a health check still going) changed
  // nothing worth a write: the stored lanes are due already, and the next pass finds them so. Its next
  // re-check stays in this chain; one that saves starts a new chain, saved with it (OperationRecord.chain).
  const waitedOnly =
    op === loaded &&
    outcomes.every(({ lane, outcome }) => outcome.kind === "continue" && outcome.lane === lane);
  if (waitedOnly) return schedule(deps, loaded, nextDelaySeconds(next, deps.now()));
  const chained = { ...next, chain: randomUUID() };
  await schedule(deps, chained, nextDelaySeconds(chained, deps.now()));
  await deps.operations.save(chained);
}

/** The next re-check: when the first lane is due; at once between waves. */
function nextDelaySeconds(op: OperationRecord, now: number): number {
  const due = op.wave.map((lane) => ((lane.dueAt ?? now) - now) / 1000);
  return Math.max(0, Math.ceil(Math.min(...due, due.length === 0 ? 0 : Number.POSITIVE_INFINITY)));
}

/** Scales out by one and waits for the new instance to serve before touching any instance. */
async function followSurge(deps: OpsDeps, op: OperationRecord): Promise<void> {
  const group = deps.config.groups.find((g) => g.name === op.groupName);
  if (!group) throw new SkipEventError("group is no longer configured", { groupName: op.groupName });
  const progress = await advanceSurge(deps, op, group.gateTimeoutSeconds);
  const now = deps.now();
  if (progress.kind === "failed") {
    deps.log.error(`${op.kind} stopped before any instance`, {
      operationId: op.operationId,
      reason: progress.reason,
    });
    return finishOperation(deps, nextVersion(op, { status: "failed", failure: progress.reason }, now));
  }
  const next = progress.kind === "ready" ? nextVersion(progress.op, { step: "working" }, now) : progress.op;
  const delay = progress.kind === "ready" ? 0 : OPERATION_PACE_SECONDS;
  if (next === op) return schedule(deps, op, delay);
  const chained = { ...next, chain: randomUUID() };
  await schedule(deps, chained, delay);
  await deps.operations.save(chained);
}
