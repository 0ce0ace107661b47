import { randomUUID } from "node:crypto";
import { SkipEventError } from "../../errors.js";
import type { RecheckEvent } from "../../events/gate-event.js";
import { type BatchReads, healthKey, readAgentPings, readTargetHealth } from "../batch-reads.js";
import { runBounded } from "../bounded-run.js";
import { type GateDeps, groupConfig, sleepOf } from "../deps.js";
import { calledForStep } from "../health-gate.js";
import { observeHealth } from "../target-health.js";
import {
  MAX_LEAVING,
  type WatchKind,
  type WatchLease,
  type WatchMember,
  type WatchMessage,
  type WatchState,
  type WatchStore,
} from "./watch.js";

/**
 * The watch's pace: a look every 3 s puts the mean reaction about 1.5 s after the change (and the step
 * it runs takes a few tenths more). Each look costs one read for the whole group (for health, one per
 * target group), however many waits it serves. The agent watch looks more often: a burst's agents come
 * Online over the same minute, so its looks are shared by the whole burst, while a target's first
 * passing check comes at a moment of its own. `npm run bench` measured the trade (48 scale-outs of 8):
 * agent/health every 2.5/3 s: 14.9 control-plane calls per launch, 4.5 s mean overhead; 3/4 s: 13.2
 * and 5.2 s; 4/4 s: 12.6 and 5.8 s; 3/5 s: 12.3 and 5.8 s.
 */
export const WATCH_PACE_SECONDS: Readonly<Record<WatchKind, number>> = { agent: 2.5, health: 3 };
/** A throttled look doubles the pace, up to this; the first look that gets through restores it. */
export const WATCH_THROTTLED_PACE_CAP_SECONDS = 12;
/**
 * How long one invocation watches before handing on to the next: within the function's 30 s timeout,
 * with room for the steps its last look runs (each a few calls, more under throttling).
 */
export const WATCH_SPAN_SECONDS = 15;
/**
 * How often the watch re-reads who its members are (a write that also drops those it is done with):
 * a wait that joins a running watch is looked at within this long. Its first look could not find
 * anything much sooner anyway: an agent registers seconds after boot, a target's first check comes
 * after its registration has propagated.
 */
export const WATCH_REFRESH_SECONDS = 9;
/** How long a handed-on watch has to start before a joiner may start another. */
const HANDOVER_GRACE_SECONDS = 60;
/** Steps run at once when one look finds many waits changed. */
const STEP_CONCURRENCY = 5;

/** Runs one wait's step (the handler's, with its logging and retry policy) as if its re-check had come. */
export type RunStep = (deps: GateDeps, recheck: RecheckEvent) => Promise<void>;

/**
 * One invocation of a group's watch: takes it over from the message's hop, looks at what its members
 * wait for every WATCH_PACE_SECONDS, runs the step of each member whose state calls for it — with what
 * was read as the step's own poll, so it does not ask again — and hands on to the next invocation
 * after WATCH_SPAN_SECONDS, or lets go once no member is left.
 */
export async function runWatch(deps: GateDeps, message: WatchMessage, runStep: RunStep): Promise<void> {
  const store = deps.watch?.store;
  if (!store) throw new Error("this function has no watch wiring");
  const { watch: kind, groupName } = message;
  groupConfig(deps.config, groupName);
  const endAt = deps.now() + WATCH_SPAN_SECONDS * 1000;
  const leaseUntil = endAt + HANDOVER_GRACE_SECONDS * 1000;
  let lease: WatchLease = { chain: message.chain, hop: message.hop + 1 };
  const held = { chain: message.chain, hop: message.hop };
  let state = await store.renew(kind, groupName, held, lease.hop, leaseUntil, message.leaving ?? []);
  if (!state) throw new SkipEventError("watch is held by another invocation", { ...held, watch: kind });
  let refreshedAt = deps.now();
  let pace = WATCH_PACE_SECONDS[kind];
  const leaving = new Set<string>();
  for (;;) {
    const lookedAt = deps.now();
    const current = state.members.filter((m) => !leaving.has(m.instanceId));
    for (const member of current) if (member.until <= lookedAt) leaving.add(member.instanceId);
    const due = current.filter((m) => m.from <= lookedAt && m.until > lookedAt);
    if (due.length > 0) {
      const { reads, throttled } = await look(deps, kind, due);
      pace = throttled ? Math.min(2 * pace, WATCH_THROTTLED_PACE_CAP_SECONDS) : WATCH_PACE_SECONDS[kind];
      const called = await calledFor(deps, kind, reads, due);
      const rejoined = await runSteps(deps, kind, groupName, called, reads, runStep);
      for (const member of called) if (!rejoined.has(member.instanceId)) leaving.add(member.instanceId);
      // A step that is still waiting joined again, with what it waits for now (a new registration).
      state = { ...state, members: state.members.map((m) => rejoined.get(m.instanceId) ?? m) };
    }
    const waiting = state.members.filter((m) => !leaving.has(m.instanceId));
    if (waiting.length === 0) {
      const after = await letGo(store, kind, groupName, lease, [...leaving], deps.now(), leaseUntil);
      leaving.clear();
      if (!after) return;
      ({ lease, state } = after);
      refreshedAt = deps.now();
      continue;
    }
    const nextLook = Math.max(lookedAt + pace * 1000, Math.min(...waiting.map((m) => m.from)));
    if (nextLook >= endAt) return handOn(deps, kind, groupName, lease, [...leaving], nextLook);
    await sleepOf(deps)(Math.max(0, nextLook - deps.now()));
    if (deps.now() - refreshedAt < WATCH_REFRESH_SECONDS * 1000) continue;
    const renewed = await store.renew(kind, groupName, lease, lease.hop, leaseUntil, [...leaving]);
    leaving.clear();
    if (!renewed) {
      deps.log.warn("watch taken over by another invocation; stopping", { watch: kind, groupName });
      return;
    }
    state = renewed;
    refreshedAt = deps.now();
  }
}

/** One read for every member: their agents' pings, or their target groups' health. */
async function look(
  deps: GateDeps,
  kind: WatchKind,
  members: readonly WatchMember[],
): Promise<{ readonly reads: BatchReads; readonly throttled: boolean }> {
  const throttled = new Set<string>();
  if (kind === "agent") {
    const ids = members.map((member) => member.instanceId);
    const agentPings = await readAgentPings(deps, ids, throttled);
    return { reads: { agentPings, targetHealth: new Map(), throttled }, throttled: throttled.size > 0 };
  }
  const waits = members.map((member) => ({
    instanceId: member.instanceId,
    registered: member.targets ?? [],
  }));
  const targetHealth = await readTargetHealth(deps, waits, throttled);
  return { reads: { agentPings: new Map(), targetHealth, throttled }, throttled: throttled.size > 0 };
}

/**
 * The members whose state calls for their step: an agent Online; health that the health step acts on
 * (calledForStep: healthy everywhere, a zone not in use, a registration lost). A member the look could
 * not read (a throttled or failed read) is not one.
 */
async function calledFor(
  deps: GateDeps,
  kind: WatchKind,
  reads: BatchReads,
  members: readonly WatchMember[],
): Promise<WatchMember[]> {
  if (kind === "agent") return members.filter((m) => reads.agentPings.get(m.instanceId) === "Online");
  const now = deps.now();
  const readDeps = Object.create(deps, { batchReads: { value: reads } }) as GateDeps;
  const called: WatchMember[] = [];
  for (const member of members) {
    const targets = member.targets ?? [];
    const keys = targets.map((target) => healthKey(target.targetGroupArn, member.instanceId));
    if (targets.length === 0 || !keys.every((key) => reads.targetHealth.has(key))) continue;
    // Every key is in the look's reads: no call is made here.
    const observations = await observeHealth(readDeps, member.instanceId, targets);
    if (calledForStep(observations, (now - member.from) / 1000)) called.push(member);
  }
  return called;
}

/**
 * Runs the steps of the members that called for them, with the look's reads as their own poll.
 * Returns the members whose step joined the watch again (still waiting: the watch keeps them), as they
 * joined.
 */
async function runSteps(
  deps: GateDeps,
  kind: WatchKind,
  groupName: string,
  called: readonly WatchMember[],
  reads: BatchReads,
  runStep: RunStep,
): Promise<Map<string, WatchMember>> {
  const rejoined = new Map<string, WatchMember>();
  const wiring = deps.watch;
  if (called.length === 0 || !wiring) return rejoined;
  const store = noticingJoins(wiring.store, (joinKind, joinGroup, member) => {
    if (joinKind === kind && joinGroup === groupName) rejoined.set(member.instanceId, member);
  });
  const stepDeps = Object.create(deps, {
    batchReads: { value: reads },
    watch: { value: { messages: wiring.messages, store } },
  }) as GateDeps;
  await runBounded(
    called,
    { concurrency: STEP_CONCURRENCY, canStart: () => true },
    (member) =>
      runStep(stepDeps, { kind: "recheck", step: kind, instanceId: member.instanceId, token: member.token }),
    () => undefined,
  );
  return rejoined;
}

/** The store, telling `onJoin` of every join made through it. */
function noticingJoins(
  store: WatchStore,
  onJoin: (kind: WatchKind, groupName: string, member: WatchMember) => void,
): WatchStore {
  return {
    join: (kind, groupName, member) => {
      onJoin(kind, groupName, member);
      return store.join(kind, groupName, member);
    },
    claim: (...args) => store.claim(...args),
    renew: (...args) => store.renew(...args),
    release: (...args) => store.release(...args),
  };
}

/**
 * No member left: lets go of the watch. A wait that joined since the last refresh saw the lease still
 * held and started no watch of its own: the release shows it, and the watch is taken again (a new chain)
 * for it. Returns the new lease and watch, or undefined when done.
 */
async function letGo(
  store: WatchStore,
  kind: WatchKind,
  groupName: string,
  lease: WatchLease,
  leaving: readonly string[],
  now: number,
  leaseUntil: number,
): Promise<{ lease: WatchLease; state: WatchState } | undefined> {
  const after = await store.release(kind, groupName, lease, leaving);
  if (!after || after.members.length === 0) return undefined;
  const next = { chain: randomUUID(), hop: 1 };
  if (!(await store.claim(kind, groupName, next, now, leaseUntil))) return undefined;
  return { lease: next, state: after };
}

/**
 * Hands the watch on to a new invocation, due when the next look is (within the lease taken at the
 * start: the span and HANDOVER_GRACE_SECONDS). The members this one is done with travel in the
 * message, and the next drops them as it takes over: no write here.
 */
async function handOn(
  deps: GateDeps,
  kind: WatchKind,
  groupName: string,
  lease: WatchLease,
  leaving: readonly string[],
  nextLook: number,
): Promise<void> {
  const messages = deps.watch?.messages;
  if (!messages) return;
  // Well within the lease, so that no joiner takes the watch from under the next invocation.
  const delaySeconds = Math.min(
    HANDOVER_GRACE_SECONDS / 2,
    Math.max(0, Math.ceil((nextLook - deps.now()) / 1000)),
  );
  const handed = leaving.length > 0 ? { leaving: leaving.slice(0, MAX_LEAVING) } : {};
  await messages.send({ watch: kind, groupName, ...lease, ...handed }, delaySeconds);
}
