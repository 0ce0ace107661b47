import type { RegisteredTarget } from "../record.js";

/**
 * A group's watch: one poll loop that looks, every few seconds, at everything the group's waits are
 * polling for — one DescribeInstanceInformation for every agent awaited, one DescribeTargetHealth per
 * target group for every target awaiting its first passing check — and runs a wait's step the moment
 * its state changes. The waits' own re-check chains go on at a slow pace beside it, as the safety net:
 * a watch that dies, or a wait it dropped, costs lag, never a wait.
 *
 * Why a loop inside an invocation rather than SQS re-checks: neither an agent coming Online nor a
 * target's first passing check emits an event (docs/aws-facts.md), so the gate must poll; reacting
 * within a couple of seconds takes a look every few seconds, and through SQS each look would cost a
 * message, a record read and a write per wait — the loop pays one read of what the group awaits.
 */

/**
 * Watch items live in the gate's state table under `watch#<kind>#<group>` (as drains' under `drain#`):
 * never an instance's key. The stack lets the watch functions update only keys with this prefix.
 */
export const WATCH_KEY_PREFIX = "watch#";

/** What a watch looks for: the agent step's (launch function) or the health step's (command-result). */
export type WatchKind = "agent" | "health";

/** A wait the watch looks at on its behalf. */
export interface WatchMember {
  readonly instanceId: string;
  /** The wait's token: the step the watch runs is this wait's, or it is dropped as stale. */
  readonly token: string;
  /** Epoch ms before which a look cannot find anything (an agent registers seconds after boot). */
  readonly from: number;
  /**
   * Epoch ms after which the watch drops the member: each round of the wait's own chain renews it, so a
   * wait that ended (or whose chain died) stops costing polls within a couple of its rounds.
   */
  readonly until: number;
  /** health: where the wait's target health is read. */
  readonly targets?: readonly WatchTarget[];
}

/** A target group a health member is registered with, as the watch reads it. */
export type WatchTarget = Pick<RegisteredTarget, "targetGroupArn" | "port" | "name">;

/** Which invocation holds the watch: its chain, and the hop (one per invocation of the chain). */
export interface WatchLease {
  readonly chain: string;
  readonly hop: number;
}

export interface WatchState {
  readonly members: readonly WatchMember[];
  /** Epoch ms until which the holder of `lease` is (or is about to be) looking; 0 or past: nobody. */
  readonly leaseUntil: number;
  readonly lease?: WatchLease;
}

/** Where a group's watch lives: one item per group and kind, written with conditional updates. */
export interface WatchStore {
  /** Adds (or renews) a member; returns the watch as it is after. */
  join(kind: WatchKind, groupName: string, member: WatchMember): Promise<WatchState>;
  /** Takes the watch for a new chain if nobody holds it (its lease is past `now`); false: someone does. */
  claim(
    kind: WatchKind,
    groupName: string,
    lease: WatchLease,
    now: number,
    leaseUntil: number,
  ): Promise<boolean>;
  /**
   * The holder of `held` moves on: to the hop `nextHop` (a new invocation of the chain) or the same,
   * with a lease until `leaseUntil`, dropping the members `leaving` (instance ids). Returns the watch
   * after; undefined when `held` no longer holds it (another chain, or another invocation of this one).
   */
  renew(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    nextHop: number,
    leaseUntil: number,
    leaving: readonly string[],
  ): Promise<WatchState | undefined>;
  /**
   * The holder lets go (its lease ends now), dropping the members `leaving`. Returns the watch after —
   * members that joined meanwhile are there, and need a new watch — or undefined if it no longer held it.
   */
  release(
    kind: WatchKind,
    groupName: string,
    held: WatchLease,
    leaving: readonly string[],
  ): Promise<WatchState | undefined>;
}

/** The most members a handover carries as leaving; more are left to expire (their `until`) instead. */
export const MAX_LEAVING = 100;

/** The message that runs (or hands on) a watch: the launch queue for `agent`, the result queue for `health`. */
export interface WatchMessage {
  readonly watch: WatchKind;
  readonly groupName: string;
  readonly chain: string;
  /** The hop that sent it; the invocation it starts takes the next. */
  readonly hop: number;
  /** Members the sender was done with (instance ids): the next invocation drops them as it takes over. */
  readonly leaving?: readonly string[];
}

export interface WatchMessages {
  send(message: WatchMessage, delaySeconds: number): Promise<void>;
}

/** What a function that joins or runs watches is given beside its GateDeps. */
export interface WatchWiring {
  readonly store: WatchStore;
  readonly messages: WatchMessages;
}
