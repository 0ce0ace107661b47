import { CHAOS_FAMILIES } from "../sim/chaos-families.js";
import { Random } from "../sim/engine/random.js";
import { collectResults } from "../sim/results.js";
import { World } from "../sim/world.js";
import { type LaunchTimings, launchTimings, overheadsOf, type PhaseOverheads } from "./launch-timings.js";
import { replayPolling } from "./polling-baseline.js";

/**
 * BENCH — what a launch costs through the deployed gate: AWS calls per successful launch and the
 * gate's reaction lag per polled phase, over a sweep of simulated scale-outs (each seed draws its own
 * agent delays, bootstrap durations and health-check phases), with the polling baseline replayed on
 * the very same launches.
 */

/**
 * The control-plane services: what the goals count separately, and what throttles. Each throttles
 * calls per account and Region (Auto Scaling: one bucket for all its APIs); SQS standard queues and
 * on-demand DynamoDB tables take far more than a gate's burst does (docs/aws-facts.md, API throttling).
 */
export const CONTROL_PLANE_SERVICES = ["Auto Scaling", "SSM", "ELBv2"] as const;
const CONTROL_PLANE: ReadonlySet<string> = new Set(CONTROL_PLANE_SERVICES);

export interface SweepOptions {
  readonly seeds: number;
  readonly instances: number;
  readonly throttle?: number;
  /** The services `throttle` applies to; absent: every API but SQS ("*": sim/aws/route-clients.ts). */
  readonly throttleServices?: readonly string[];
  /** The deployment's `pollIntervalSeconds`; absent: the config's default. */
  readonly pollIntervalSeconds?: { readonly agent: number; readonly health: number };
}

export interface CallFigures {
  readonly launches: number;
  readonly callsPerLaunch: number;
  readonly controlPlaneCallsPerLaunch: number;
  /** Calls per launch by API, highest first. */
  readonly byApi: Readonly<Record<string, number>>;
}

export interface Sweep extends CallFigures {
  readonly timings: readonly LaunchTimings[];
}

/**
 * After the burst's last completion, how long its calls are still counted: one reconciler period, so
 * the safety net's cost during the burst is in; its steady cost after (one look per group every 2
 * minutes, burst or not) is not a cost per launch.
 */
const TAIL_MS = 120_000;

/** Runs the scale-out family over seeds 1..N and totals calls over the launches that succeeded. */
export async function runSweep(options: SweepOptions): Promise<Sweep> {
  const family = CHAOS_FAMILIES.find((candidate) => candidate.name === "scale-out");
  if (!family) throw new Error("bench: the scale-out chaos family is missing");
  const byApi = new Map<string, number>();
  let controlPlane = 0;
  let all = 0;
  const timings: LaunchTimings[] = [];
  let launches = 0;
  for (let seed = 1; seed <= options.seeds; seed++) {
    const scenario = family.build(seed, new Random(seed), {
      instances: options.instances,
      ...(options.throttle ? { throttle: options.throttle } : {}),
      ...(options.throttleServices ? { throttleServices: options.throttleServices } : {}),
      ...(options.pollIntervalSeconds ? { pollIntervalSeconds: options.pollIntervalSeconds } : {}),
    });
    const world = await World.create(scenario);
    world.router.callLog = [];
    await world.run();
    const result = collectResults(world);
    if (result.violations.length > 0) {
      throw new Error(`bench: seed ${seed} broke an invariant: ${result.violations.join("; ")}`);
    }
    const completions = result.instances.filter((instance) => instance.hookResult === "CONTINUE");
    launches += completions.length;
    const lastCompletion = Math.max(
      ...result.timeline.filter((entry) => /^hook completed/.test(entry.what)).map((entry) => entry.at),
    );
    for (const { at, api } of world.router.callLog) {
      if (at > lastCompletion + TAIL_MS) break;
      byApi.set(api, (byApi.get(api) ?? 0) + 1);
      all += 1;
      if (CONTROL_PLANE.has(world.router.serviceOf.get(api) ?? "")) controlPlane += 1;
    }
    timings.push(...launchTimings(world, result));
  }
  const per = (n: number) => (launches === 0 ? Number.NaN : n / launches);
  return {
    launches,
    callsPerLaunch: per(all),
    controlPlaneCallsPerLaunch: per(controlPlane),
    byApi: Object.fromEntries([...byApi].sort((a, b) => b[1] - a[1]).map(([api, n]) => [api, per(n)])),
    timings,
  };
}

export interface OverheadFigures {
  readonly overheadSecondsMean: number;
  readonly overheadSecondsP95: number;
  readonly phaseOverheadSeconds: PhaseOverheads;
}

export function overheadFigures(perLaunch: readonly PhaseOverheads[]): OverheadFigures {
  const totals = perLaunch.map((o) => o.agent + o.command + o.health).sort((a, b) => a - b);
  const mean = (values: readonly number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;
  return {
    overheadSecondsMean: mean(totals),
    overheadSecondsP95:
      totals[Math.min(totals.length - 1, Math.ceil(totals.length * 0.95) - 1)] ?? Number.NaN,
    phaseOverheadSeconds: {
      agent: mean(perLaunch.map((o) => o.agent)),
      command: mean(perLaunch.map((o) => o.command)),
      health: mean(perLaunch.map((o) => o.health)),
    },
  };
}

/** What the simulation's models took on their own (seconds, means): no gate could do better. */
export interface ModelledDurations {
  readonly agentOnlineAfterLaunch: number;
  readonly bootstrap: number;
  readonly registrationToFirstPassingCheck: number;
}

/** The gate's overheads on the sweep's launches, and the baseline's on the same launches. */
export function compareOverheads(timings: readonly LaunchTimings[], baselinePaceSeconds: number) {
  const baseline = timings.map((t) => replayPolling(t, baselinePaceSeconds));
  const mean = (f: (t: LaunchTimings) => number) =>
    timings.reduce((sum, t) => sum + f(t), 0) / timings.length / 1000;
  const modelled: ModelledDurations = {
    agentOnlineAfterLaunch: mean((t) => t.agentOnlineAt - t.launchedAt),
    bootstrap: mean((t) => t.bootstrapFinishedAt - t.commandSentAt),
    registrationToFirstPassingCheck: mean((t) => t.firstHealthyAt - t.registeredAt),
  };
  return {
    gate: overheadFigures(timings.map(overheadsOf)),
    baseline: overheadFigures(baseline.map((b) => b.overheads)),
    baselineCallsPerLaunch: baseline.reduce((sum, b) => sum + b.calls, 0) / baseline.length,
    modelled,
  };
}
