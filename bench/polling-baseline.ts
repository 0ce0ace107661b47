import type { LaunchTimings, PhaseOverheads } from "./launch-timings.js";

/**
 * BENCH — the baseline: the common polling sample (one Lambda woken by the lifecycle event, polling
 * every 30 s), replayed on each launch the simulation measured. It meets the same agent delay, the
 * same bootstrap duration and the same registration-to-first-passing-check time as the gate did; only
 * its reactions differ: it looks every `paceSeconds`, starting when the gate heard of the launch.
 * It makes no DynamoDB or SQS calls, never re-reads the lifecycle, and (like the samples) registers
 * the instance itself and checks target health, so the comparison is like for like.
 */
export interface BaselineLaunch {
  readonly overheads: PhaseOverheads;
  readonly calls: number;
}

/** A heartbeat every half of the default 600 s heartbeat timeout. */
const HEARTBEAT_EVERY_MS = 300_000;

/** The first poll at or after `readyAt`, polling every `pace` from `start` (at once if `first`). */
function pollUntil(start: number, readyAt: number, pace: number, first: "at once" | "after a pace") {
  let at = first === "at once" ? start : start + pace;
  let polls = 1;
  while (at < readyAt) {
    at += pace;
    polls += 1;
  }
  return { at, polls };
}

export function replayPolling(t: LaunchTimings, paceSeconds: number): BaselineLaunch {
  const pace = paceSeconds * 1000;
  // Agent: DescribeInstanceInformation at the start and every pace until Online.
  const agent = pollUntil(t.gateOpenedAt, t.agentOnlineAt, pace, "at once");
  const finishedAt = agent.at + (t.bootstrapFinishedAt - t.commandSentAt);
  // Command: GetCommandInvocation every pace after sending until it is final.
  const command = pollUntil(agent.at, finishedAt, pace, "after a pace");
  const firstHealthyAt = command.at + (t.firstHealthyAt - t.registeredAt);
  // Health: DescribeTargetHealth every pace after registering until healthy.
  const health = pollUntil(command.at, firstHealthyAt, pace, "after a pace");
  const heartbeats = Math.floor((health.at - t.gateOpenedAt) / HEARTBEAT_EVERY_MS);
  // SendCommand, RegisterTargets and CompleteLifecycleAction once each.
  const calls = agent.polls + command.polls + health.polls + heartbeats + 3;
  return {
    overheads: {
      agent: (agent.at - Math.max(t.agentOnlineAt, t.gateOpenedAt)) / 1000,
      command: (command.at - finishedAt) / 1000,
      health: (health.at - firstHealthyAt) / 1000,
    },
    calls,
  };
}
