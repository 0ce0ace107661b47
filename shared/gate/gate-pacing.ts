import type { RuntimeGroup } from "../config/runtime-config.js";
import type { GateRecord, LaunchMode } from "./record.js";

/**
 * When the gate looks again at what it waits for — the SSM agent, its own bootstrap command — and when a
 * bootstrap is overdue. Pure: the steps (start-gate.ts, open-wait.ts, send-bootstrap.ts,
 * command-outcome.ts) schedule by these, and `npm run bench` measures what each costs in calls and
 * reaction lag.
 */

/**
 * How often to look for the SSM agent: every 10 s while it is likely to come (agents register within
 * seconds to a couple of minutes of boot), then at a slower pace for the stragglers. Polls are shared by
 * the waits of a batch (batch-reads.ts); 10 s rather than 5 s is what `npm run bench` found worth its
 * calls once a mapping's five pollers split the shared polls (5 s: 2 s less lag, 40 % more calls).
 */
export const AGENT_PACE_SECONDS = 10;
export const AGENT_SLOW_PACE_SECONDS = 15;
/**
 * The dense pace for a wait out of a warm pool (`start`): its agent returns once the restarted instance
 * has booted, at a moment nothing announces, and this wait is the one that leads to traffic — the
 * scale-out is waiting for it. A pool is small, so the extra polls are few (`npm start -- --scenario
 * warm-pool-stopped-scale-out` prints where the time goes).
 */
export const WARM_AGENT_PACE_SECONDS = 5;
/** How long after the wait began the agent is looked for at the dense pace. */
export const AGENT_DENSE_WINDOW_SECONDS = 120;

/**
 * When to look for the agent first. An instance coming out of a warm pool ran its agent before (a
 * Running pool's never stopped; a Stopped pool's comes back soon after its boot): look at once. A new instance is still booting when its event comes (agents register from
 * about 15 s after launch): the first look joins the burst's grid, and its shared poll.
 */
export function firstAgentCheckSeconds(record: {
  readonly mode: Pick<LaunchMode, "bootstrapPhase">;
}): number {
  return record.mode.bootstrapPhase === "start" ? 0 : AGENT_PACE_SECONDS;
}

export function agentPaceSeconds(
  record: Pick<GateRecord, "startedAt"> & { readonly mode: Pick<LaunchMode, "bootstrapPhase"> },
  now: number,
): number {
  if (now - record.startedAt >= AGENT_DENSE_WINDOW_SECONDS * 1000) return AGENT_SLOW_PACE_SECONDS;
  return record.mode.bootstrapPhase === "start" ? WARM_AGENT_PACE_SECONDS : AGENT_PACE_SECONDS;
}
/**
 * How often to look at a running bootstrap ourselves. SSM's status-change event brings the outcome
 * within seconds; this only bounds the delay when that event is lost (delivery is best-effort) or its
 * handling keeps failing (a throttling storm), and carries the heartbeat meanwhile — so it runs at the
 * heartbeat's pace (capped by recheckDelay), not the bootstrap's: looking every minute cost three calls
 * a minute per launch to learn nothing. Closer to the wait's deadline it looks more often, so a lost
 * event never costs the wait its deadline: at least four looks in whatever time is left.
 */
export const COMMAND_PACE_SECONDS = 180;
const COMMAND_PACE_FLOOR_SECONDS = 20;

export function commandPaceSeconds(record: Pick<GateRecord, "deadline">, now: number): number {
  const leftSeconds = (record.deadline - now) / 1000;
  return Math.max(COMMAND_PACE_FLOOR_SECONDS, Math.min(COMMAND_PACE_SECONDS, Math.floor(leftSeconds / 4)));
}
/** Beyond the document's own execution timeout, time for SSM to report the outcome. */
const COMMAND_REPORT_SLACK_SECONDS = 120;

/** When a bootstrap sent (or adopted) at `now` is overdue: its execution timeout plus reporting slack. */
export function bootstrapDeadline(group: RuntimeGroup, now: number): number {
  return now + (group.bootstrapTimeoutSeconds + COMMAND_REPORT_SLACK_SECONDS) * 1000;
}
