import type { ScenarioResult } from "../sim/results.js";
import type { World } from "../sim/world.js";

/**
 * BENCH — when each step of one successful launch happened (epoch ms, virtual time), read from a
 * finished simulated world: what the models did on their own (agent Online, bootstrap finished, the
 * load balancer's first passing check) beside when the gate reacted to each.
 */
export interface LaunchTimings {
  readonly instanceId: string;
  readonly launchedAt: number;
  /** The gate first heard of the launch (the first entry of its record's history). */
  readonly gateOpenedAt: number;
  readonly agentOnlineAt: number;
  /** SSM accepted the gate's SendCommand. */
  readonly commandSentAt: number;
  readonly bootstrapFinishedAt: number;
  /** The gate's first RegisterTargets (its reaction to the bootstrap finishing). */
  readonly registeredAt: number;
  /** The load balancer's first passing check after that registration, the latest over the target groups. */
  readonly firstHealthyAt: number;
  /** The gate's CompleteLifecycleAction(CONTINUE). */
  readonly completedAt: number;
}

/** How long the gate took to react, per polled phase (seconds). */
export interface PhaseOverheads {
  /** Agent Online → bootstrap sent. */
  readonly agent: number;
  /** Bootstrap finished → registered (the gate saw the outcome). */
  readonly command: number;
  /** First passing check → hook completed. */
  readonly health: number;
}

export function overheadsOf(t: LaunchTimings): PhaseOverheads {
  return {
    agent: (t.commandSentAt - Math.max(t.agentOnlineAt, t.gateOpenedAt)) / 1000,
    command: (t.registeredAt - t.bootstrapFinishedAt) / 1000,
    health: (t.completedAt - t.firstHealthyAt) / 1000,
  };
}

/** The timings of every launch in the run that went InService through the gate's CONTINUE. */
export function launchTimings(world: World, result: ScenarioResult): LaunchTimings[] {
  const timings: LaunchTimings[] = [];
  for (const instance of world.asg.instances.values()) {
    if (instance.launchIndex < 0) continue;
    const at = (source: string, match: RegExp) =>
      result.timeline.find((e) => e.instanceId === instance.id && e.source === source && match.test(e.what))
        ?.at;
    const completedAt = at("asg", /^hook completed: CONTINUE/);
    const registeredAt = at("elb", /^registered with .* by the gate/);
    const agentOnlineAt = at("ssm", /^SSM agent Online/);
    const commandSentAt = at("ssm", /^bootstrap command .* received/);
    const bootstrapFinishedAt = at("ssm", /^bootstrap Success/);
    const gateOpenedAt = result.instances.find((r) => r.id === instance.id)?.gate?.history[0]?.at;
    if (
      completedAt === undefined ||
      registeredAt === undefined ||
      agentOnlineAt === undefined ||
      commandSentAt === undefined ||
      bootstrapFinishedAt === undefined ||
      gateOpenedAt === undefined
    )
      continue;
    const passes = instance.group.targetGroupArns.map((arn) =>
      world.elb.firstHealthyCheckAt(arn, instance.id, completedAt),
    );
    if (passes.some((pass) => pass === undefined)) continue;
    timings.push({
      instanceId: instance.id,
      launchedAt: instance.launchedAt,
      gateOpenedAt,
      agentOnlineAt,
      commandSentAt,
      bootstrapFinishedAt,
      registeredAt,
      firstHealthyAt: Math.max(...(passes as number[])),
      completedAt,
    });
  }
  return timings;
}
