import { AsyncLocalStorage } from "node:async_hooks";
import { errorMessage } from "../errors.js";
import type { GateEvent, RecheckEvent } from "../events/gate-event.js";
import { readForBatch } from "../gate/batch-reads.js";
import type { GateDeps } from "../gate/deps.js";
import type {
  GateStore,
  RecheckMessage,
  RecheckScheduler,
  SaveOptions,
  ScheduledRecheck,
  WaitVersion,
} from "../gate/ports.js";
import type { GateRecord } from "../gate/record.js";
import { usableSeen } from "../gate/seen.js";
import type { BatchHandling } from "./run-event.js";

/**
 * The wiring of one SQS batch of re-checks, so that a burst of waits costs a few calls per poll rather
 * than a few per wait:
 * - the batch's records are read with one BatchGetItem, and each step's first read of its record is
 *   answered from it;
 * - agent pings and target health are read once for the batch (gate/batch-reads.ts);
 * - the re-checks the steps schedule are held and go out with SendMessageBatch when the batch ends —
 *   except that what a message schedules is sent before its wait's record is saved: "a re-check is on
 *   its way before anything is saved" still holds for every step, so a crash after a save never
 *   strands a wait. Should the invocation die before the end, SQS redelivers the batch's messages,
 *   which schedule again.
 *
 * (Running soon-due polls in this invocation instead of through SQS was tried and measured with `npm
 * run bench`: it split the cohorts whose polls share a batch, and cost more calls for no less lag.)
 */
export interface BatchScope {
  readonly deps: GateDeps;
  /** Runs one SQS message's handling; what it schedules is tagged with the message. */
  within(messageId: string, run: () => Promise<void>): Promise<void>;
  /** Sends what is still held; returns the SQS message ids whose re-checks could not be sent. */
  finish(): Promise<string[]>;
}

export async function openBatchScope(base: GateDeps, rechecks: readonly RecheckEvent[]): Promise<BatchScope> {
  const held = new HeldRechecks(base.rechecks, base.now);
  // A re-check that carries its wait (gate/seen.ts) reads its record only if its poll shows a change.
  const now = base.now();
  const records = await readRecords(
    base,
    rechecks.filter((recheck) => !usableSeen(recheck, now)),
  );
  const store = new FirstReadStore(base.store, records, () => held.sendBeforeSave());
  const deps = Object.create(base, {
    store: { value: store },
    rechecks: { value: held },
    batchReads: { value: await readForBatch(base, rechecks, records) },
  }) as GateDeps;
  const early = held.sendEvery(EARLY_SEND_MS);
  return {
    deps,
    within: (messageId, run) => held.within(messageId, run),
    finish: async () => {
      await early.stop();
      return held.sendAll();
    },
  };
}

/**
 * While a batch runs long (its steps held up by throttling), what is held goes out every few seconds
 * rather than only at the end: should the function time out, the re-checks already sent still drive
 * their waits, instead of every message of the batch waiting out SQS's visibility timeout. A batch
 * that ends sooner sends once.
 */
const EARLY_SEND_MS = 3_000;

/** The records in one read; none when there is only one (a GetItem costs the same) or it fails. */
async function readRecords(
  deps: GateDeps,
  rechecks: readonly RecheckEvent[],
): Promise<Map<string, GateRecord | undefined>> {
  const ids = [...new Set(rechecks.map((recheck) => recheck.instanceId))];
  if (ids.length < 2) return new Map();
  try {
    const found = await deps.store.loadMany(ids);
    return new Map(ids.map((id) => [id, found.get(id)]));
  } catch (error) {
    deps.log.warn("batch read of records failed; each re-check reads its own", {
      error: errorMessage(error),
    });
    return new Map();
  }
}

/** Answers each instance's first load from a shared read; saves only after held re-checks are sent. */
class FirstReadStore implements GateStore {
  constructor(
    private readonly store: GateStore,
    private readonly unread: Map<string, GateRecord | undefined>,
    private readonly beforeSave: () => Promise<void>,
  ) {}

  async load(instanceId: string): Promise<GateRecord | undefined> {
    if (this.unread.has(instanceId)) {
      const record = this.unread.get(instanceId);
      this.unread.delete(instanceId); // a second look (after a save, say) reads the store again
      return record;
    }
    return this.store.load(instanceId);
  }

  loadMany(instanceIds: readonly string[]): Promise<Map<string, GateRecord>> {
    return this.store.loadMany(instanceIds);
  }

  async save(record: GateRecord, options?: SaveOptions): Promise<void> {
    await this.beforeSave();
    return this.store.save(record, options);
  }

  noteHeartbeat(wait: WaitVersion, lastHeartbeatAt: number): Promise<boolean> {
    return this.store.noteHeartbeat(wait, lastHeartbeatAt);
  }
}

interface Held {
  readonly message: RecheckMessage;
  /** When the re-check is due (epoch ms): its delay counts from when it was scheduled. */
  readonly dueAt: number;
  /** The SQS message whose handling scheduled it. */
  readonly source: string | undefined;
}

/** Re-checks held until the batch ends (or a save needs them sent), then sent in as few calls as can be. */
/**
 * The SQS message whose handling is running, in this async context (a batch's messages run at once).
 * One for the module, not one per batch: every AsyncLocalStorage ever used adds to the cost of every
 * later async operation in the process.
 */
const handlingMessage = new AsyncLocalStorage<string>();

class HeldRechecks implements RecheckScheduler {
  private held: Held[] = [];

  constructor(
    private readonly scheduler: RecheckScheduler,
    private readonly now: () => number,
  ) {}

  within(source: string, run: () => Promise<void>): Promise<void> {
    return handlingMessage.run(source, run);
  }

  async schedule(message: RecheckMessage, delaySeconds: number): Promise<void> {
    this.held.push({ message, dueAt: this.now() + delaySeconds * 1000, source: handlingMessage.getStore() });
  }

  /**
   * Before a save: what the message being handled has scheduled goes now (its wait's next re-check is
   * on its way before its record changes); if it could not, the save must not happen (throws). Other
   * messages' re-checks stay held for the batch's one send at the end.
   */
  async sendBeforeSave(): Promise<void> {
    const current = handlingMessage.getStore();
    const failed = await this.send((entry) => entry.source === current);
    if (failed.length > 0) throw new Error(`could not schedule ${failed.length} re-check(s) before saving`);
  }

  /**
   * Sends what is held every `everyMs` until stopped; what fails there goes back to the held set.
   * Stopping waits for a send in flight, so the end of the batch sees everything it left behind.
   */
  sendEvery(everyMs: number): { stop(): Promise<void> } {
    let timer: ReturnType<typeof setTimeout> | undefined;
    let inFlight: Promise<void> = Promise.resolve();
    let stopped = false;
    const tick = () => {
      timer = setTimeout(() => {
        inFlight = this.send(() => true).then((failed) => {
          this.held.push(...failed);
          if (!stopped) tick();
        });
      }, everyMs);
    };
    tick();
    return {
      stop: async () => {
        stopped = true;
        clearTimeout(timer);
        await inFlight;
      },
    };
  }

  /** At the end of the batch: the SQS message ids whose re-checks could not be sent. */
  async sendAll(): Promise<string[]> {
    const failed = await this.send(() => true);
    return [...new Set(failed.flatMap((entry) => (entry.source ? [entry.source] : [])))];
  }

  /**
   * Sends the held re-checks `which` selects: together, then what that call did not deliver one by
   * one, all at once — a second, independent chance each, in the time of one call. One failed batch
   * call would otherwise fail ten waits' next re-checks together, and SQS redelivers their messages
   * only after the queue's visibility timeout. Returns what was still not sent.
   */
  private async send(which: (entry: Held) => boolean): Promise<Held[]> {
    const unsent = await this.sendTogether(this.take(which));
    const retried = await Promise.all(
      unsent.map((entry) =>
        this.scheduler.schedule(entry.message, this.delayLeft(entry)).then(
          () => undefined,
          () => entry,
        ),
      ),
    );
    return retried.filter((entry): entry is Held => entry !== undefined);
  }

  /** Each keeps its due time: the delay is what is left of it now. */
  private delayLeft(entry: Held): number {
    return Math.max(0, (entry.dueAt - this.now()) / 1000);
  }

  private take(which: (entry: Held) => boolean): Held[] {
    const taken = this.held.filter(which);
    this.held = this.held.filter((entry) => !which(entry));
    return taken;
  }

  private async sendTogether(sending: readonly Held[]): Promise<Held[]> {
    if (sending.length === 0 || !this.scheduler.scheduleMany) return [...sending];
    const scheduled: ScheduledRecheck[] = sending.map((entry) => ({
      message: entry.message,
      delaySeconds: this.delayLeft(entry),
    }));
    const failed = await this.scheduler.scheduleMany(scheduled);
    return failed.flatMap((index) => sending[index] ?? []);
  }
}

/** A gate function's SQS batches: every step of the batch runs on the batch's scope. */
export function gateBatch(
  deps: () => GateDeps,
  dispatch: (gate: GateDeps) => (event: GateEvent) => Promise<void>,
): (rechecks: readonly RecheckEvent[]) => Promise<BatchHandling> {
  return async (rechecks) => {
    const scope = await openBatchScope(deps(), rechecks);
    return {
      handle: dispatch(scope.deps),
      rechecks: scope.deps.rechecks,
      within: scope.within,
      finish: scope.finish,
    };
  };
}
