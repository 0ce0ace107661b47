import type { RuntimeGroup } from "../config/runtime-config.js";
import { chainSignDueAt, hookHeartbeatDueAt } from "./heartbeat-timing.js";
import type { RecheckMessage, WaitSeen } from "./ports.js";
import type { GateRecord } from "./record.js";

/**
 * What a polling re-check carries of its wait, so that a round finding nothing new — most of a
 * wait's rounds — schedules the next without reading the record. The record is read (and the step
 * runs in full, every save conditional on the version read) as soon as anything may need it: the poll
 * shows a change, a heartbeat or the chain's sign of life or a deadline is due (`readBy`), or the re-check is a retry. A re-check
 * whose wait moved on without it (a copy, a chain given a new token) polls on for at most a heartbeat
 * period, then reads the record and drops.
 */
export function seenOf(record: GateRecord, group: RuntimeGroup): WaitSeen | undefined {
  const polling = record.phase === "awaiting-agent" || record.phase === "awaiting-health";
  if (!polling) return undefined;
  // When keeping the wait alive next calls for a write (keep-alive.ts, keepAliveDue).
  const timeout = group.heartbeatTimeoutSeconds;
  const keepAliveDueAt = Math.min(hookHeartbeatDueAt(record, timeout), chainSignDueAt(record, timeout));
  return {
    version: record.version,
    phase: record.phase,
    groupName: record.groupName,
    readBy: Math.min(keepAliveDueAt, record.deadline, record.phaseDeadline ?? record.deadline),
    startedAt: record.startedAt,
    bootstrapPhase: record.mode.bootstrapPhase,
    ...(record.registeredAt === undefined ? {} : { registeredAt: record.registeredAt }),
    ...(record.phase === "awaiting-health"
      ? {
          targets: record.registered.map((target) => ({
            targetGroupArn: target.targetGroupArn,
            name: target.name,
            port: target.port,
            intervalSeconds: target.intervalSeconds,
          })),
        }
      : {}),
  };
}

/**
 * What the re-check carries, when a round may go by it instead of the record: it carries one, in the
 * phase the step polls, it is no retry (a retry may follow a step that died mid-way), and nothing is
 * due yet.
 */
export function usableSeen(message: RecheckMessage, now: number): WaitSeen | undefined {
  const seen = message.seen;
  if (!seen || message.attempt !== undefined || now >= seen.readBy) return undefined;
  const phase =
    message.step === "agent" ? "awaiting-agent" : message.step === "health" ? "awaiting-health" : undefined;
  return seen.phase === phase ? seen : undefined;
}
