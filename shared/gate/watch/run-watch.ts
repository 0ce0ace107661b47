import { randomUUID } from "node:crypto";
import { SkipEventError } from "../../errors.js";
import { emitAll } from "../../metrics/emit.js";
import { watchLookMetrics } from "../../metrics/launch-metrics.js";
import { type BatchReads, healthKey, readAgentPings, readTargetHealth } from "../batch-reads.js";
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
import { type RunStep, runSteps } from "./watch-steps.js";

/**
 * The watch's pace is the config's `pollIntervalSeconds` (deps.config): how often it looks for each kind
 * of member (shared/config/poll-intervals.ts says why the defaults are what they are).
 */
export function watchPaceSeconds(deps: Pick<GateDeps, "config">, kind: WatchKind): number {
  return deps.config.pollIntervalSeconds[kind];
}
/**
 * A throttled look doubles the pace, up to this or twice the configured pace, whichever is longer; the
 * first look that gets through restores it.
 */
export const WATCH_THROTTLED_PACE_CAP_SECONDS = 12;
/**
 * How long one invocation watches before handing on to the next: within the function's 30 s timeout,
 * with room for the steps its last look runs (each a few calls, more under throttling).
 */
export const WATCH_SPAN_SECONDS = 15;
/**
 * How often the watch re-reads who its members are (a write that also drops those it is done with):
 * a wait that joins a running watch is looked at within this long — or one look's interval, if the
 * configured interval is longer (the re-read comes between looks). Its first look could not find
 * anything much sooner anyway: an agent registers seconds after boot, a target's first check comes
 * after its registration has propagated.
 */
export const WATCH_REFRESH_SECONDS = 9;
/** How long a handed-on watch has to start before a joiner may start another. */
const HANDOVER_GRACE_SECONDS = 60;
/**
 * How late in an invocation a look may still start steps: the span, and a little. What a step does
 * (a few calls, more under throttling: the SDK's backoff) must fit in the function's 30 s timeout; a
 * member not started is kept, for the next invocation.
 */
const STEP_START_SLACK_SECONDS = 2;
/**
 * What a step may need before the invocation's end (its timeout): a few calls, each possibly through
 * the SDK's backoff. The watch looks, and starts steps, only while this much is left.
 */
export const STEP_RESERVE_SECONDS = 15;

export type { RunStep } from "./watch-steps.js";

/** What one invocation did: its closing log line (what tells an operator a watch is alive). */
interface WatchTally {
  looks: number;
  throttledLooks: number;
  steps: number;
}

/**
 * One invocation of a group's watch: takes it over from the message's hop, looks at what its members
 * wait for at its pace (watchPaceSeconds), runs the step of each member whose state calls for it — with what
 * was read as the step's own poll, so it does not ask again — and hands on to the next invocation
 * after WATCH_SPAN_SECONDS, or lets go once no member is left. Should it fail on the way, it lets go
 * (best effort), so that the next wait to join starts a watch at once rather than when the lease ends.
 */
export async function runWatch(
  deps: GateDeps,
  message: WatchMessage,
  runStep: RunStep,
  /** When the invocation is stopped (epoch ms: its timeout), when known. */
  invocationDeadline = Number.POSITIVE_INFINITY,
): Promise<void> {
  const store = deps.watch?.store;
  if (!store) throw new Error("this function has no watch wiring");
  const { watch: kind, groupName } = message;
  groupConfig(deps.config, groupName);
  const held = { chain: message.chain, hop: message.hop };
  const lease: WatchLease = { chain: message.chain, hop: message.hop + 1 };
  const reserveAt = invocationDeadline - STEP_RESERVE_SECONDS * 1000;
  const endAt = Math.min(deps.now() + WATCH_SPAN_SECONDS * 1000, reserveAt);
  const leaseUntil = endAt + HANDOVER_GRACE_SECONDS * 1000;
  const state = await store.renew(kind, groupName, held, lease.hop, leaseUntil, message.leaving ?? []);
  if (!state) throw new SkipEventError("watch is held by another invocation", { ...held, watch: kind });
  const tally: WatchTally = { looks: 0, throttledLooks: 0, steps: 0 };
  const startBy = Math.min(endAt + STEP_START_SLACK_SECONDS * 1000, reserveAt);
  const loop = new WatchLoop(deps, store, runStep, kind, groupName, { endAt, startBy, leaseUntil }, tally);
  let current = lease;
  try {
    const ending = await loop.run(lease, state, (held) => {
      current = held;
    });
    deps.log.info("watch invocation ended", { watch: kind, groupName, ending, ...tally });
  } catch (error) {
    deps.log.warn("watch invocation failed; letting go of the watch", { watch: kind, groupName, ...tally });
    await store.release(kind, groupName, current, []).catch(() => undefined);
    throw error;
  } finally {
    // Counted whether the invocation ended or failed: the looks it made were made. (One stopped at its
    // timeout runs no code after: its looks go uncounted, as its closing line goes unlogged.)
    emitAll(deps, watchLookMetrics(groupName, kind, tally.looks));
  }
}

type Ending = "handed on" | "let go" | "taken over";

/** The loop of one invocation, and what it keeps between looks. */
class WatchLoop {
  private readonly leaving = new Set<string>();
  /** Members whose step ran and who still wait: not looked at again before this (epoch ms). */
  private readonly quietUntil = new Map<string, number>();
  private pace: number;

  constructor(
    private readonly deps: GateDeps,
    private readonly store: WatchStore,
    private readonly runStep: RunStep,
    private readonly kind: WatchKind,
    private readonly groupName: string,
    private readonly times: {
      /** No look after this: hand on. */
      readonly endAt: number;
      /** No step started after this. */
      readonly startBy: number;
      readonly leaseUntil: number;
    },
    private readonly tally: WatchTally,
  ) {
    this.pace = watchPaceSeconds(deps, kind);
  }

  async run(
    first: WatchLease,
    firstState: WatchState,
    holding: (lease: WatchLease) => void,
  ): Promise<Ending> {
    const { deps } = this;
    let lease = first;
    let state = firstState;
    let refreshedAt = deps.now();
    for (;;) {
      const lookedAt = deps.now();
      state = await this.lookOnce(state, lookedAt);
      const waiting = state.members.filter((m) => !this.leaving.has(m.instanceId));
      if (waiting.length === 0) {
        const after = await this.letGo(lease);
        if (!after) return "let go";
        ({ lease, state } = after);
        holding(lease);
        refreshedAt = deps.now();
        continue;
      }
      const earliest = Math.min(
        ...waiting.map((m) => Math.max(m.from, this.quietUntil.get(m.instanceId) ?? 0)),
      );
      const nextLook = Math.max(lookedAt + this.pace * 1000, earliest);
      if (nextLook >= this.times.endAt) {
        await this.handOn(lease, nextLook);
        return "handed on";
      }
      await sleepOf(deps)(Math.max(0, nextLook - deps.now()));
      if (deps.now() - refreshedAt < WATCH_REFRESH_SECONDS * 1000) continue;
      const renewed = await this.write(lease, this.times.leaseUntil);
      if (!renewed) {
        deps.log.warn("watch taken over by another invocation; stopping", {
          watch: this.kind,
          groupName: this.groupName,
        });
        return "taken over";
      }
      state = renewed;
      refreshedAt = deps.now();
    }
  }

  /** One look at the members due, and the steps it calls for; returns the watch as this invocation sees it. */
  private async lookOnce(state: WatchState, now: number): Promise<WatchState> {
    const current = state.members.filter((m) => !this.leaving.has(m.instanceId));
    for (const member of current) if (member.until <= now) this.leaving.add(member.instanceId);
    const due = current.filter(
      (m) => m.from <= now && m.until > now && (this.quietUntil.get(m.instanceId) ?? 0) <= now,
    );
    if (due.length === 0) return state;
    const { reads, throttled } = await look(this.deps, this.kind, due);
    this.tally.looks += 1;
    if (throttled) this.tally.throttledLooks += 1;
    const pace = watchPaceSeconds(this.deps, this.kind);
    this.pace = throttled
      ? Math.min(2 * this.pace, Math.max(WATCH_THROTTLED_PACE_CAP_SECONDS, 2 * pace))
      : pace;
    const called = await calledFor(this.deps, this.kind, reads, due);
    const outcomes = await runSteps(
      this.deps,
      this.kind,
      this.groupName,
      called,
      reads,
      this.runStep,
      this.times.startBy,
    );
    const updated = new Map<string, WatchMember>();
    for (const [id, outcome] of outcomes) {
      if (outcome.kind === "not-started") continue;
      this.tally.steps += 1;
      if (outcome.kind === "done") this.leaving.add(id);
      else {
        updated.set(id, outcome.member);
        this.quietUntil.set(id, outcome.quietUntil);
      }
    }
    return { ...state, members: state.members.map((m) => updated.get(m.instanceId) ?? m) };
  }

  /**
   * Renews the lease, dropping the members this invocation is done with — at most MAX_LEAVING per
   * write (DynamoDB's limit on an expression's size), the rest in further writes.
   */
  private async write(lease: WatchLease, leaseUntil: number): Promise<WatchState | undefined> {
    let state: WatchState | undefined;
    do {
      const chunk = [...this.leaving].slice(0, MAX_LEAVING);
      state = await this.store.renew(this.kind, this.groupName, lease, lease.hop, leaseUntil, chunk);
      if (!state) return undefined;
      for (const id of chunk) this.leaving.delete(id);
    } while (this.leaving.size > 0);
    return state;
  }

  /**
   * No member left: lets go of the watch. A wait that joined since the last refresh saw the lease
   * still held and started no watch of its own: the release shows it, and the watch is taken again (a
   * new chain) for it. Returns the new lease and watch, or undefined when done.
   */
  private async letGo(lease: WatchLease): Promise<{ lease: WatchLease; state: WatchState } | undefined> {
    if (this.leaving.size > MAX_LEAVING && !(await this.write(lease, this.times.leaseUntil)))
      return undefined;
    const leaving = [...this.leaving];
    const after = await this.store.release(this.kind, this.groupName, lease, leaving);
    this.leaving.clear();
    if (!after || after.members.length === 0) return undefined;
    const next = { chain: randomUUID(), hop: 1 };
    const claimed = await this.store.claim(
      this.kind,
      this.groupName,
      next,
      this.deps.now(),
      this.times.leaseUntil,
    );
    return claimed ? { lease: next, state: after } : undefined;
  }

  /**
   * Hands the watch on to a new invocation, due when the next look is (within the lease taken at the
   * start: the span and HANDOVER_GRACE_SECONDS). The members this one is done with travel in the
   * message (up to MAX_LEAVING; more are written first), and the next drops them as it takes over.
   */
  private async handOn(lease: WatchLease, nextLook: number): Promise<void> {
    const messages = this.deps.watch?.messages;
    if (!messages) return;
    if (this.leaving.size > MAX_LEAVING && !(await this.write(lease, this.times.leaseUntil))) return;
    // Well within the lease, so that no joiner takes the watch from under the next invocation.
    const delaySeconds = Math.min(
      HANDOVER_GRACE_SECONDS / 2,
      Math.max(0, Math.ceil((nextLook - this.deps.now()) / 1000)),
    );
    const handed = this.leaving.size > 0 ? { leaving: [...this.leaving] } : {};
    await messages.send({ watch: this.kind, groupName: this.groupName, ...lease, ...handed }, delaySeconds);
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
