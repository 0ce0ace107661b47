import type { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { SSMClient } from "@aws-sdk/client-ssm";
import type { RuntimeConfig, RuntimeGroup } from "../config/runtime-config.js";
import { SkipEventError } from "../errors.js";
import type { MetricsSink } from "../metrics/sink.js";
import type { BatchReads } from "./batch-reads.js";
import type { HeartbeatSource } from "./keep-alive.js";
import type { Clock, GateStore, RecheckScheduler } from "./ports.js";
import type { WatchWiring } from "./watch/watch.js";

/** Clients for reads a later look repeats anyway: a throttled answer is "not yet", not worth many retries. */
export interface PollClients {
  readonly ssm: SSMClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
}

/** The subset of the Powertools Logger the gate uses, so tests can pass a recorder. */
export interface GateLog {
  info(message: string, extra?: Record<string, unknown>): void;
  warn(message: string, extra?: Record<string, unknown>): void;
  error(message: string, extra?: Record<string, unknown>): void;
}

/** Everything the gate logic touches, injected: tests and the simulation swap any of it. */
export interface GateDeps {
  readonly config: RuntimeConfig;
  readonly autoScaling: AutoScalingClient;
  readonly ssm: SSMClient;
  /** The client SendCommand goes through, without automatic retries (see shared/aws/clients.ts); absent: `ssm`. */
  readonly ssmCommands?: SSMClient;
  readonly elbv2: ElasticLoadBalancingV2Client;
  /**
   * The clients the gate's polls go through — the agent's ping and target health, looked at again on
   * the step's own pace — with fewer attempts (see shared/aws/clients.ts); absent: `ssm` and `elbv2`.
   */
  readonly polls?: PollClients;
  readonly store: GateStore;
  readonly rechecks: RecheckScheduler;
  readonly now: Clock;
  readonly log: GateLog;
  /** Reads shared by the re-checks of one SQS batch (batch-reads.ts); absent: each step reads alone. */
  readonly batchReads?: BatchReads;
  /** Where milestones are counted (shared/metrics); absent: embedded metric format through Powertools. */
  readonly metrics?: MetricsSink;
  /**
   * The groups' watches (watch/watch.ts), in the functions that poll for a wait (launch: the agent;
   * command-result: health); absent: each wait polls at its own pace.
   */
  readonly watch?: WatchWiring;
  /**
   * Whose steps these are, as far as keeping the wait alive goes (keep-alive.ts): the watch's, when it
   * runs a step for a wait whose own round is still in flight (watch/watch-steps.ts); absent: the
   * wait's own chain.
   */
  readonly keeper?: HeartbeatSource;
  /** Pauses within one invocation (the reconciler's retries, a watch's looks); absent: a timer. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** The injected pause, or a plain timer. */
export function sleepOf(deps: Pick<GateDeps, "sleep">): (ms: number) => Promise<void> {
  return deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
}

/** The configured group, or a skip: events of other groups are not ours. */
export function groupConfig(config: RuntimeConfig, groupName: string): RuntimeGroup {
  const group = config.groups.find((candidate) => candidate.name === groupName);
  if (!group) throw new SkipEventError("group is not configured for launchgate", { groupName });
  return group;
}
