/**
 * The gate's durable record of one instance's launch, kept in the state table (one item per
 * instance). It is both the coordination point between invocations (optimistic `version` check) and
 * the journal an operator or the CLI reads: phase, deadlines, outcome, reason, and a short history.
 */

/**
 * Where a launch is in the gate. Terminal phases: continued, abandoned, gone. `sighted` is the
 * reconciler's placeholder for a wait it found without a record (no event seen yet).
 */
export type GatePhase =
  | "sighted"
  | "awaiting-agent"
  | "sending-command"
  | "bootstrapping"
  | "awaiting-health"
  | "continued"
  | "abandoned"
  | "gone";

/**
 * A wait the gate learned of without its lifecycle event has no token: its id is this prefix plus the
 * instance id, and lifecycle calls name the instance instead (CompleteLifecycleAction and
 * RecordLifecycleActionHeartbeat accept either; docs/aws-facts.md, lifecycle hooks).
 */
export const TOKENLESS_WAIT_PREFIX = "instance:";

export function isTokenless(record: Pick<GateRecord, "token">): boolean {
  return record.token.startsWith(TOKENLESS_WAIT_PREFIX);
}

/**
 * The id of a wait the reconciler sighted at `sightedAt` without its lifecycle event. It names the
 * sighting time, unique per sighting (a later sighting of a later wait is a new record), and lets a
 * lifecycle event that arrives later tell whether it is of the sighted wait (see tokenlessSightedAt).
 */
export function tokenlessToken(instanceId: string, sightedAt: number): string {
  return `${TOKENLESS_WAIT_PREFIX}${instanceId}@${sightedAt}`;
}

/**
 * When a tokenless wait was sighted (its wait had begun by then), or undefined for a token that is not
 * one of ours: the only bound on that wait's start the gate has, as no event told it.
 */
export function tokenlessSightedAt(token: string): number | undefined {
  if (!token.startsWith(TOKENLESS_WAIT_PREFIX)) return undefined;
  const at = /@(\d+)$/.exec(token)?.[1];
  return at === undefined ? undefined : Number(at);
}

export const TERMINAL_PHASES: ReadonlySet<GatePhase> = new Set(["continued", "abandoned", "gone"]);

/** Which part of the bootstrap document to run (see bootstrap/bootstrap.sh). */
export type BootstrapPhase = "all" | "prepare" | "start";

/**
 * What this wait is for. A direct launch runs everything and must serve traffic; a launch into a warm
 * pool only prepares (no traffic); a warm instance moving into service only starts (docs/aws-facts.md, warm pools).
 */
export interface LaunchMode {
  readonly bootstrapPhase: BootstrapPhase;
  readonly needsTraffic: boolean;
}

/** A target group the gate registered the instance with, and what it needs to judge and explain health. */
export interface RegisteredTarget {
  readonly targetGroupArn: string;
  readonly name: string;
  readonly port: number;
  readonly intervalSeconds: number;
  readonly healthyThreshold: number;
  /** Failed checks in a row that make a target unhealthy (absent in records written before it was kept). */
  readonly unhealthyThreshold?: number;
  /** One line for operators, e.g. "HTTP GET traffic-port/health expecting 200, 5 passes 30 s apart". */
  readonly healthCheck: string;
  readonly loadBalancerArns: readonly string[];
}

export interface HistoryEntry {
  readonly at: number;
  readonly phase: GatePhase;
  readonly note: string;
}

export interface GateRecord {
  readonly instanceId: string;
  readonly groupName: string;
  readonly hookName: string;
  /** Pins every AWS call to this one wait: a warm-pool instance waits twice, with two tokens. */
  readonly token: string;
  readonly mode: LaunchMode;
  readonly phase: GatePhase;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** When the record entered its current phase. */
  readonly phaseStartedAt: number;
  readonly deadline: number;
  /** The last heartbeat of the hook by anyone (the chain or the reconciler). */
  readonly lastHeartbeatAt: number;
  /**
   * When the event-driven re-check chain last recorded a heartbeat. Only the chain advances it, so the
   * reconciler's own heartbeats cannot hide a dead chain from its stall check. Absent on records
   * written before it existed, and until the chain's first heartbeat (phaseStartedAt stands in).
   */
  readonly chainSeenAt?: number;
  readonly phaseDeadline?: number;
  /**
   * When the current `sending-command` claim was taken — by every claim, a takeover of a dead one
   * included. The claim's lease runs from here, not from phaseStartedAt: a takeover does not change the
   * phase, and a lease counted from the dead claim would be born expired, free for any duplicate
   * re-check to take over and send again. Absent on records written before it existed.
   */
  readonly claimedAt?: number;
  /**
   * How long the current claim is its sender's, when not the usual SEND_CLAIM_TTL_SECONDS: a send
   * whose outcome is unknown holds it past SSM's delivery timeout, so that a command still waiting to
   * be delivered (which ListCommands by instance may not show) is found before anything is re-sent.
   */
  readonly claimLeaseSeconds?: number;
  /**
   * The tokenless id (TOKENLESS_WAIT_PREFIX) this wait went by before its lifecycle event arrived and
   * gave it its token (startGate). A command sent under that id names it in its comment, and is still
   * this wait's bootstrap.
   */
  readonly formerToken?: string;
  readonly commandId?: string;
  readonly registered: readonly RegisteredTarget[];
  /** When the gate registered the instance: "not registered" shortly after is eventual consistency. */
  readonly registeredAt?: number;
  readonly outcome?: "CONTINUE" | "ABANDON";
  readonly reason?: string;
  readonly history: readonly HistoryEntry[];
  /** Optimistic-concurrency counter; every save increments it. */
  readonly version: number;
  /**
   * This version was saved by a step its group's watch ran for the wait (watch/watch-steps.ts), which
   * keeps the step's next round back: the wait's own round, if it loses its save to this one, carries
   * on (watched-rounds.ts). Written by the store from the save's options, never carried by a record
   * into a later save.
   */
  readonly savedBy?: "watch";
}

/** Enough history to explain a launch without growing the item without bound. */
export const HISTORY_LIMIT = 25;

/**
 * A new record version with `changes` applied and a history line for the transition. An empty `note`
 * adds no line: routine updates (heartbeats) must not push the meaningful ones out of the history.
 */
export function advance(
  record: GateRecord,
  changes: Partial<Omit<GateRecord, "version" | "history">>,
  note: string,
  now: number,
): GateRecord {
  const phase = changes.phase ?? record.phase;
  const phaseStartedAt = phase === record.phase ? record.phaseStartedAt : now;
  const history =
    note === "" ? record.history : [...record.history, { at: now, phase, note }].slice(-HISTORY_LIMIT);
  return { ...record, ...changes, phaseStartedAt, history, version: record.version + 1 };
}
