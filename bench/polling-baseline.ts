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

export function replayPolling(t: LaunchTimings, paceSeconds: number): BaselineLaunch {
  const pace = paceSeconds * 1000;
  // Agent: DescribeInstanceInformation at the start and every pace until Online.
  let at = t.gateOpenedAt;
  let agentPolls = 1;
  while (at < t.agentOnlineAt) {
    at += pace;
    agentPolls += 1;
  }
  const sentAt = at;
  const finishedAt = sentAt + (t.bootstrapFinishedAt - t.commandSentAt);
  // Command: GetCommandInvocation every pace after sending until it is final.
  let commandPolls = 0;
  do {
    at += pace;
    commandPolls += 1;
  } while (at < finishedAt);
  const registeredAt = at;
  const firstHealthyAt = registeredAt + (t.firstHealthyAt - t.registeredAt);
  // Health: DescribeTargetHealth every pace after registering until healthy.
  let healthPolls = 0;
  do {
    at += pace;
    healthPolls += 1;
  } while (at < firstHealthyAt);
  const heartbeats = Math.floor((at - t.gateOpenedAt) / HEARTBEAT_EVERY_MS);
  // SendCommand, RegisterTargets and CompleteLifecycleAction once each.
  const calls = agentPolls + commandPolls + healthPolls + heartbeats + 3;
  return {
    overheads: {
      agent: (sentAt - Math.max(t.agentOnlineAt, t.gateOpenedAt)) / 1000,
      command: (registeredAt - finishedAt) / 1000,
      health: (at - firstHealthyAt) / 1000,
    },
    calls,
  };
}
