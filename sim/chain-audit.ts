import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import { CHAIN_STEP_FOR_PHASE } from "../shared/gate/ports.js";

/**
 * SIMULATION — the re-check chains, audited as the world runs. Every live wait (a record in a phase a
 * chain drives: shared/gate/ports.ts, CHAIN_STEP_FOR_PHASE) has something that will come back to it at
 * all times: a re-check of its own in a queue (the gate schedules each round before it saves the phase
 * the round is for, and a round that fails comes back), or an event of its own that Lambda has yet to
 * deliver or retry (the launch event whose handler saved the record, then failed to send its first
 * re-check). Two ways to get that wrong, each a violation:
 * - a wait left with no re-check queued (its chain ended while its phase still needs one): nothing but
 *   the reconciler's stall check, many minutes later, would move it on;
 * - the reconciler restarting a chain that is healthy — a re-check of the same step and wait still
 *   waiting out its delay, or being handled: the restart runs beside it, and both poll until the phase
 *   ends. (One that failed and waits to be received again may be restarted: it is not getting anywhere.)
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
}

/** The chain a re-check message belongs to; undefined for anything else (a watch's hand-on). */
function chainOf(body: string): ChainRef | undefined {
  try {
    const { step, instanceId, token } = JSON.parse(body) as Partial<Record<keyof ChainRef, unknown>>;
    if (typeof step !== "string" || typeof instanceId !== "string" || typeof token !== "string")
      return undefined;
    return { step, instanceId, token };
  } catch {
    return undefined;
  }
}

const waitKey = (wait: { readonly instanceId: string; readonly token: string }) =>
  `${wait.instanceId}/${wait.token}`;

export class ChainAudit {
  /** Live waits with no re-check queued, since when (virtual ms). */
  private readonly undrivenSince = new Map<string, number>();
  private readonly reported = new Set<string>();
  /** Waits whose re-check went to the dead-letter queue: the reconciler's to restart, by design. */
  private readonly deadLettered = new Set<string>();
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
      if (message.receives > 0 && !message.handling) continue;
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
    if (chain) this.deadLettered.add(waitKey(chain));
  }

  /** Whether `check` is due at `now` (it costs a pass over the table and the queues). */
  due(now: number): boolean {
    return now - this.checkedAt >= CHECK_EVERY_SECONDS * 1000;
  }

  /**
   * Looks for live waits with nothing to come back to them: no re-check in `queued`, and none of
   * `events.pending` (events Lambda has yet to deliver or retry, as JSON) names the wait. A wait named
   * by one of `events.failed` (events that failed every retry: the reconciler's to pick up, by design)
   * is left alone, as is one whose re-check went to the dead-letter queue.
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
      if (chain) driven.add(waitKey(chain));
    }
    const names = (record: WaitRecord) => (event: string) =>
      event.includes(record.instanceId) && event.includes(record.token);
    const live = new Set<string>();
    for (const record of records) {
      if (!(record.phase in CHAIN_STEP_FOR_PHASE)) continue;
      const key = waitKey(record);
      live.add(key);
      const handedOn = this.deadLettered.has(key) || events.failed.some(names(record));
      if (driven.has(key) || handedOn || events.pending.some(names(record))) {
        this.undrivenSince.delete(key);
        continue;
      }
      const since = this.undrivenSince.get(key) ?? now;
      this.undrivenSince.set(key, since);
      if (now - since > UNDRIVEN_GRACE_SECONDS * 1000 && !this.reported.has(key)) {
        this.reported.add(key);
        this.violation(
          `wait ${key} (${record.phase}) has had no re-check queued, nor an event on its way, for over ${UNDRIVEN_GRACE_SECONDS} s: its chain ended while its phase still needs one (recently: ${record.recently()})`,
        );
      }
    }
    for (const key of this.undrivenSince.keys()) if (!live.has(key)) this.undrivenSince.delete(key);
  }
}
