import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { CHAIN_STEP_FOR_PHASE } from "../shared/gate/ports.js";

/**
 * SIMULATION — the re-check chains, audited as the world runs. Every live wait (a record in a phase a
 * chain drives: shared/gate/ports.ts, CHAIN_STEP_FOR_PHASE) has something that will come back to it at
 * all times: a re-check of its own for the step its phase needs in a queue (the gate schedules each
 * round before it saves the phase the round is for, and a round that fails comes back), or an event of
 * its own that Lambda has yet to deliver or retry and that moves that phase on (the launch event whose
 * handler saved the record, then failed to send its first re-check; the command's status event, for a
 * wait that bootstraps). Two ways to get that wrong, each a violation:
 * - a wait left with no re-check queued (its chain ended while its phase still needs one): nothing but
 *   the reconciler's stall check, many minutes later, would move it on;
 * - the reconciler restarting a chain that is healthy — a re-check of the same step and wait still
 *   waiting out its delay, or being handled: the restart runs beside it, and both poll until the phase
 *   ends. A chain whose round failed is not getting anywhere, and may be restarted: its re-check waits
 *   to be received again or is being received again (SQS redelivers it), or it is a fast retry of the
 *   failed round (a message of its own, carrying `attempt`: shared/runtime/run-event.ts). Under heavy
 *   throttling a chain can fail round after round for longer than the reconciler's stall limit.
 */

/** A message in a queue that a function reads, as the audit sees it. */
export interface QueuedMessage {
  readonly body: string;
  readonly sentAt: number;
  /** Times it was received so far. */
  readonly receives: number;
  /** A function is handling it now. */
  readonly handling: boolean;
}

/** A record in the state table, as far as the audit reads it. */
export interface WaitRecord {
  readonly instanceId: string;
  readonly token: string;
  readonly phase: string;
  readonly version: number;
  /** The bootstrap command, once sent: its status event moves a bootstrapping wait on. */
  readonly commandId?: string;
  /** Its last few history notes, for the report. */
  readonly recently: () => string;
}

/** The state table's items as the audit reads them; times in the history as seconds from `startedAt`. */
export function waitRecords(
  items: readonly Record<string, AttributeValue>[],
  startedAt: number,
): WaitRecord[] {
  return items.map((item) => ({
    instanceId: item.instanceId?.S ?? "",
    token: item.token?.S ?? "",
    phase: item.phase?.S ?? "",
    version: Number(item.version?.N ?? 0),
    ...(item.commandId?.S ? { commandId: item.commandId.S } : {}),
    recently: () =>
      (item.history?.L ?? [])
        .slice(-3)
        .map((entry) => {
          const at = Math.round((Number(entry.M?.at?.N) - startedAt) / 1000);
          return `${at} s ${entry.M?.phase?.S}: ${entry.M?.note?.S}`;
        })
        .join("; "),
  }));
}

/** How long a live wait may go without a re-check queued: a step between its save and its send. */
export const UNDRIVEN_GRACE_SECONDS = 60;
/** How often the world asks (virtual seconds): often enough to see a gap well within the grace. */
export const CHECK_EVERY_SECONDS = 5;

interface ChainRef {
  readonly step: string;
  readonly instanceId: string;
  readonly token: string;
  /** Set on a fast retry of a round that failed: how many attempts failed before it. */
  readonly attempt?: number;
}

/** The chain a re-check message belongs to; undefined for anything else (a watch's hand-on). */
function chainOf(body: string): ChainRef | undefined {
  try {
    const { step, instanceId, token, attempt } = JSON.parse(body) as Partial<Record<keyof ChainRef, unknown>>;
    if (typeof step !== "string" || typeof instanceId !== "string" || typeof token !== "string")
      return undefined;
    return { step, instanceId, token, ...(typeof attempt === "number" ? { attempt } : {}) };
  } catch {
    return undefined;
  }
}

/** Whether a re-check follows a failed round: received before (now or earlier), or a fast retry. */
function retriesAFailedRound(message: QueuedMessage, chain: ChainRef): boolean {
  const receivedBefore = message.receives > (message.handling ? 1 : 0);
  return receivedBefore || (chain.attempt ?? 0) > 0;
}

const waitKey = (wait: { readonly instanceId: string; readonly token: string }) =>
  `${wait.instanceId}/${wait.token}`;

/**
 * The re-check steps that move each live phase on (the steps' own `expected` phases): a send claimed
 * but not yet recorded is looked at by the agent step and, once its command re-check comes, the
 * command step (which adopts the command).
 */
const DRIVING_STEPS: Readonly<Record<string, readonly string[]>> = {
  "awaiting-agent": ["agent"],
  "sending-command": ["agent", "command"],
  bootstrapping: ["command"],
  "awaiting-health": ["health"],
};

/**
 * Whether a pending event moves the wait's phase on: its launch event (by token) while it waits for its
 * agent or sends; the command's status event while it sends (adopted by the command's comment) or
 * bootstraps (by the command's id).
 */
function eventDrives(record: WaitRecord, event: string): boolean {
  if (!event.includes(record.instanceId)) return false;
  const isCommandStatus = event.includes('"command-id"');
  switch (record.phase) {
    case "awaiting-agent":
      return !isCommandStatus && event.includes(record.token);
    case "sending-command":
      return isCommandStatus || event.includes(record.token);
    case "bootstrapping":
      return isCommandStatus && record.commandId !== undefined && event.includes(record.commandId);
    default:
      return false;
  }
}

export class ChainAudit {
  /** Live waits with no re-check queued, since when (virtual ms). */
  private readonly undrivenSince = new Map<string, number>();
  private readonly reported = new Set<string>();
  /**
   * Waits handed to the reconciler, by design: a re-check of theirs went to the dead-letter queue, or
   * an event of theirs failed every retry. Left alone while their record stays at the version it had
   * when the audit first saw them handed on (undefined: not seen yet); once it moves on, something
   * drives them again, and they are audited as any other.
   */
  private readonly handedOn = new Map<string, number | undefined>();
  /** Failed events already counted in `handedOn`. */
  private readonly failedSeen = new Set<string>();
  private checkedAt = Number.NEGATIVE_INFINITY;

  constructor(private readonly violation: (what: string) => void) {}

  /**
   * The reconciler sends `body` while the wait's record is in `storedPhase`: a violation if it restarts
   * a healthy chain among `queued`. A wait in no live phase has no chain to restart (the reconciler
   * adopting a wait it sighted starts the first).
   */
  restarted(body: string, queued: Iterable<QueuedMessage>, storedPhase: string | undefined): void {
    const kick = chainOf(body);
    if (!kick || storedPhase === undefined || !(storedPhase in CHAIN_STEP_FOR_PHASE)) return;
    for (const message of queued) {
      const chain = chainOf(message.body);
      if (!chain || chain.step !== kick.step || waitKey(chain) !== waitKey(kick)) continue;
      if (retriesAFailedRound(message, chain)) continue;
      const state = message.handling ? "being handled" : "waiting out its delay";
      this.violation(
        `the reconciler restarted the healthy ${kick.step} chain of ${waitKey(kick)}: its re-check was ${state}`,
      );
      return;
    }
  }

  /** A re-check moved to the dead-letter queue. */
  deadLetter(body: string): void {
    const chain = chainOf(body);
    if (chain) this.handedOn.set(waitKey(chain), undefined);
  }

  /** Whether the reconciler has `record` by design (see handedOn), noting the version it has it at. */
  private leftToReconciler(record: WaitRecord): boolean {
    const key = waitKey(record);
    if (!this.handedOn.has(key)) return false;
    const at = this.handedOn.get(key);
    if (at === undefined || at === record.version) {
      this.handedOn.set(key, record.version);
      return true;
    }
    this.handedOn.delete(key);
    return false;
  }

  /** Whether `check` is due at `now` (it costs a pass over the table and the queues). */
  due(now: number): boolean {
    return now - this.checkedAt >= CHECK_EVERY_SECONDS * 1000;
  }

  /**
   * Looks for live waits with nothing to come back to them: no re-check in `queued` of the step their
   * phase needs, and none of `events.pending` (events Lambda has yet to deliver or retry, as JSON) of
   * those that move their phase on. A wait handed to the reconciler by design (see handedOn: one of
   * `events.failed`, events that failed every retry, names it) is left alone until it moves on.
   */
  check(
    now: number,
    records: Iterable<WaitRecord>,
    queued: Iterable<QueuedMessage>,
    events: { readonly pending: readonly string[]; readonly failed: readonly string[] },
  ): void {
    this.checkedAt = now;
    const driven = new Set<string>();
    for (const message of queued) {
      const chain = chainOf(message.body);
      if (chain) driven.add(`${waitKey(chain)}#${chain.step}`);
    }
    const waits = [...records];
    for (const event of events.failed) {
      if (this.failedSeen.has(event)) continue;
      this.failedSeen.add(event);
      for (const record of waits)
        if (event.includes(record.instanceId) && event.includes(record.token))
          this.handedOn.set(waitKey(record), undefined);
    }
    const live = new Set<string>();
    for (const record of waits) {
      const steps = DRIVING_STEPS[record.phase];
      if (!steps) continue;
      const key = waitKey(record);
      live.add(key);
      const drivenNow =
        steps.some((step) => driven.has(`${key}#${step}`)) ||
        events.pending.some((event) => eventDrives(record, event));
      if (drivenNow || this.leftToReconciler(record)) {
        this.undrivenSince.delete(key);
        continue;
      }
      const since = this.undrivenSince.get(key) ?? now;
      this.undrivenSince.set(key, since);
      if (now - since > UNDRIVEN_GRACE_SECONDS * 1000 && !this.reported.has(key)) {
        this.reported.add(key);
        this.violation(
          `wait ${key} (${record.phase}) has had no ${steps.join(" or ")} re-check queued, nor an event on its way, for over ${UNDRIVEN_GRACE_SECONDS} s: its chain ended while its phase still needs one (recently: ${record.recently()})`,
        );
      }
    }
    for (const key of this.undrivenSince.keys()) if (!live.has(key)) this.undrivenSince.delete(key);
  }
}
