import type { RecheckEvent } from "../../events/gate-event.js";
import type { BatchReads } from "../batch-reads.js";
import { runBounded } from "../bounded-run.js";
import type { GateDeps } from "../deps.js";
import type { GateStore, RecheckMessage, RecheckScheduler } from "../ports.js";
import type { WatchKind, WatchMember, WatchStore } from "./watch.js";

/**
 * Runs one wait's step (the handler's, with its logging and retry policy) as if its re-check had come.
 * "unretried": it failed, and its retry could not be scheduled either (SQS refusing the send).
 */
export type RunStep = (deps: GateDeps, recheck: RecheckEvent) => Promise<"ran" | "unretried">;

/**
 * When the watch runs again a step that failed with nothing to retry it — what SQS's redelivery is to
 * a failed re-check, sooner: the first retry's delay (shared/runtime/run-event.ts).
 */
export const UNRETRIED_STEP_AGAIN_SECONDS = 5;

/** Steps run at once when one look finds many waits changed. */
const STEP_CONCURRENCY = 5;
/** A step that ran and is still waiting is not run again for this long, unless it asked sooner. */
export const STEP_REPEAT_SECONDS = 30;

/** What became of a member whose step the watch ran. */
export type StepOutcome =
  /** Moved on (or ended, or failed and retried by its own re-check): the watch is done with it. */
  | { readonly kind: "done" }
  /** Still waiting: the watch keeps it (as it joined again, if it did), and looks again from `quietUntil`. */
  | { readonly kind: "waiting"; readonly member: WatchMember; readonly quietUntil: number }
  /** Not started: too late in the invocation. The watch keeps it as it was. */
  | { readonly kind: "not-started" };

/**
 * Runs the steps of the members whose state called for them, with the look's reads as their own poll,
 * starting none after `startBy` (the invocation's time budget). The wait's own chain has a round in
 * flight already: a step that would schedule its next round of the same step asks the watch instead —
 * the schedule is kept back (a second chain would double the wait's rounds on every look), and the
 * watch looks again at its time. A step that joins the watch again is still waiting, too.
 */
export async function runSteps(
  deps: GateDeps,
  kind: WatchKind,
  groupName: string,
  called: readonly WatchMember[],
  reads: BatchReads,
  runStep: RunStep,
  startBy: number,
): Promise<Map<string, StepOutcome>> {
  const outcomes = new Map<string, StepOutcome>();
  const wiring = deps.watch;
  if (called.length === 0 || !wiring) return outcomes;
  const rejoined = new Map<string, WatchMember>();
  const askedAt = new Map<string, number>();
  const unretried = new Set<string>();
  // A retry of a step that failed (its `attempt` set) is not a round: it goes out, as a failed
  // re-check's would, and carries the mark that lets it finish a completion that died.
  // One due after the member's membership ends goes out too: the watch will not be there to look.
  const ownRound = (message: RecheckMessage, delaySeconds: number) =>
    message.step === kind &&
    message.attempt === undefined &&
    called.some(
      (m) =>
        m.instanceId === message.instanceId &&
        m.token === message.token &&
        deps.now() + delaySeconds * 1000 <= (rejoined.get(m.instanceId)?.until ?? m.until),
    );
  const stepDeps = Object.create(deps, {
    batchReads: { value: reads },
    // The wait's own round is in flight: a heartbeat the step sends is noted over the version it read,
    // not saved as a new one that would make that round's save stale and end its chain; what the step
    // does save says it was the watch's, so that a round that loses its save to it carries on.
    keeper: { value: "watch" },
    rechecks: {
      value: keepingBackOwnRounds(deps.rechecks, ownRound, (message, delaySeconds) => {
        askedAt.set(message.instanceId, deps.now() + delaySeconds * 1000);
      }),
    },
    store: { value: savingAsWatch(deps.store) },
    watch: {
      value: {
        messages: wiring.messages,
        store: noticingJoins(wiring.store, (joinKind, joinGroup, member) => {
          if (joinKind === kind && joinGroup === groupName) rejoined.set(member.instanceId, member);
        }),
      },
    },
  }) as GateDeps;
  const started = await runBounded(
    called,
    { concurrency: STEP_CONCURRENCY, canStart: () => deps.now() < startBy },
    async (member) => {
      const result = await runStep(stepDeps, {
        kind: "recheck",
        step: kind,
        instanceId: member.instanceId,
        token: member.token,
      });
      if (result === "unretried") unretried.add(member.instanceId);
      return true;
    },
    () => false,
  );
  called.forEach((member, index) => {
    const id = member.instanceId;
    if (!started[index]) outcomes.set(id, { kind: "not-started" });
    else if (unretried.has(id)) {
      // Nothing else may come back to it (its own round may have lost to what the step saved before
      // failing): the watch keeps it and runs the step again, as SQS would redeliver a failed re-check.
      const quietUntil = deps.now() + UNRETRIED_STEP_AGAIN_SECONDS * 1000;
      outcomes.set(id, { kind: "waiting", member: rejoined.get(id) ?? member, quietUntil });
    } else if (rejoined.has(id)) {
      // Its kept-back round is the safety net's (a minute off): not when to look again. A wait that
      // now waits for something new (registered again) is looked at from the next look; one that
      // waits as before, not for a while: what called for its step still shows.
      const joined = rejoined.get(id) ?? member;
      const repeat = joined.from > member.from ? 0 : STEP_REPEAT_SECONDS;
      outcomes.set(id, { kind: "waiting", member: joined, quietUntil: deps.now() + repeat * 1000 });
    } else if (askedAt.has(id)) {
      // Asked to be looked at again soon (Auto Scaling's API lagging the event): the watch will.
      outcomes.set(id, { kind: "waiting", member, quietUntil: askedAt.get(id) ?? deps.now() });
    } else outcomes.set(id, { kind: "done" });
  });
  return outcomes;
}

/** The store, marking each save as the watch's (GateRecord.savedBy). */
function savingAsWatch(store: GateStore): GateStore {
  return {
    load: (instanceId) => store.load(instanceId),
    loadMany: (instanceIds) => store.loadMany(instanceIds),
    save: (record, options) => store.save(record, { ...options, by: "watch" }),
    noteHeartbeat: (wait, lastHeartbeatAt) => store.noteHeartbeat(wait, lastHeartbeatAt),
  };
}

/**
 * The scheduler, keeping back the messages `isOwnRound` picks (telling `keptBack` of each) and
 * passing on the rest: a step's move to its next phase still schedules that phase's first re-check.
 */
function keepingBackOwnRounds(
  rechecks: RecheckScheduler,
  isOwnRound: (message: RecheckMessage, delaySeconds: number) => boolean,
  keptBack: (message: RecheckMessage, delaySeconds: number) => void,
): RecheckScheduler {
  return {
    schedule: async (message, delaySeconds) => {
      if (!isOwnRound(message, delaySeconds)) return rechecks.schedule(message, delaySeconds);
      keptBack(message, delaySeconds);
    },
  };
}

/** The store, telling `onJoin` of every join made through it. */
function noticingJoins(
  store: WatchStore,
  onJoin: (kind: WatchKind, groupName: string, member: WatchMember) => void,
): WatchStore {
  return {
    join: async (kind, groupName, member) => {
      const joined = await store.join(kind, groupName, member);
      onJoin(kind, groupName, member); // only a join that was made: a failed one extends nothing
      return joined;
    },
    claim: (...args) => store.claim(...args),
    renew: (...args) => store.renew(...args),
    release: (...args) => store.release(...args),
  };
}
