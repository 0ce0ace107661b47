import { renderDrains } from "./drain-results.js";
import type { InstanceResult, PhaseTimes, ScenarioResult } from "./results.js";
import type { TimelineEntry } from "./world-context.js";

/** SIMULATION — renders a run as text: a banner that says it is a simulation, the timeline, outcomes, figures. */

export interface ReportOptions {
  /** Timeline lines shown before eliding the rest. */
  readonly timelineLimit: number;
  /** Instance rows shown before summarizing the rest. */
  readonly instanceLimit: number;
}

export function renderReport(result: ScenarioResult, startedAt: number, options: ReportOptions): string {
  const lines = [
    "━━ launchgate SIMULATION — modelled AWS, real launchgate handlers; no AWS account is used ━━",
    `scenario ${result.scenario}: ${result.title}`,
    "",
    "timeline (virtual time)",
    ...renderTimeline(result, startedAt, options.timelineLimit),
    "",
    "outcome per launched instance",
    ...renderOutcomes(result.instances, options.instanceLimit),
    ...renderOperations(result),
    ...renderDrains(result.drains),
    "",
    "summary",
    ...renderSummary(result),
    "",
    "This was a simulation. To deploy for real: npm ci && npx cdk deploy (README: Deploy to a real account).",
  ];
  return lines.join("\n");
}

function renderTimeline(result: ScenarioResult, startedAt: number, limit: number): string[] {
  const short = shortIds(result.instances);
  const entries: TimelineEntry[] = [...result.timeline, ...gateNotes(result.instances)].sort(
    (a, b) => a.at - b.at,
  );
  const rendered = entries.map((entry) => {
    const who = entry.instanceId ? (short.get(entry.instanceId) ?? entry.instanceId) : "";
    return `  ${clock((entry.at - startedAt) / 1000).padStart(6)}  ${who.padEnd(10)} ${entry.source.padEnd(6)} ${entry.what}`;
  });
  if (rendered.length <= limit) return rendered;
  return [...rendered.slice(0, limit), `  … ${rendered.length - limit} more lines (--full shows them all)`];
}

/** The gate's own account of each transition, from its record's history. */
function gateNotes(instances: readonly InstanceResult[]): TimelineEntry[] {
  return instances.flatMap((instance) =>
    (instance.gate?.history ?? [])
      .filter((entry) => entry.phase !== "sending-command")
      .map((entry) => ({
        at: entry.at,
        source: "gate" as const,
        instanceId: instance.id,
        what: `${entry.phase}: ${entry.note}`,
      })),
  );
}

function renderOutcomes(instances: readonly InstanceResult[], limit: number): string[] {
  const rows = instances.slice(0, limit).map((instance) => {
    const outcome = instance.hookResult ?? "—";
    const why = instance.gate?.reason ?? "(no gate record)";
    return `  ${instance.id}  ${instance.zone}  ${instance.finalState.padEnd(10)} ${outcome.padEnd(8)} ${why}`;
  });
  if (instances.length > limit) {
    const counts = new Map<string, number>();
    for (const instance of instances) {
      const key = `${instance.finalState}/${instance.hookResult ?? "—"}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    rows.push(
      `  … ${instances.length - limit} more; all ${instances.length}: ${[...counts].map(([k, n]) => `${n} ${k}`).join(", ")}`,
    );
  }
  return rows;
}

function renderOperations(result: ScenarioResult): string[] {
  if (result.operations.length === 0) return [];
  const lines = ["", "operations"];
  for (const op of result.operations) {
    lines.push(
      `  ${op.kind} ${op.operationId.slice(0, 8)}… of ${op.groupName} (phase ${op.bootstrapPhase}): ${op.status}`,
    );
    for (const r of op.results)
      lines.push(
        `    ${r.instanceId}  ${r.outcome.padEnd(9)} ${String(r.seconds).padStart(4)} s  ${r.reason}`,
      );
  }
  for (const [tg, n] of Object.entries(result.minHealthy))
    lines.push(`  fewest healthy targets in ${tg} at any moment: ${n}`);
  return lines;
}

function renderSummary(result: ScenarioResult): string[] {
  const served = result.instances.filter((instance) => instance.finalState === "InService");
  const abandoned = result.instances.filter((instance) => instance.hookResult === "ABANDON");
  const totalCalls = Object.values(result.calls).reduce((sum, n) => sum + n, 0);
  const launches = Math.max(1, result.instances.length);
  const topApis = Object.entries(result.calls)
    .sort((a, b) => b[1] - a[1])
    .map(([api, n]) => `${api} ${(n / launches).toFixed(1)}`)
    .join(", ");
  const invocations = Object.entries(result.invocations)
    .map(([fn, n]) => `${fn} ${n}`)
    .join(", ");
  const errors = Object.values(result.functionErrors).reduce((sum, n) => sum + n, 0);
  const calls =
    result.instances.length > 0
      ? `  AWS calls per launch: ${(totalCalls / launches).toFixed(1)} (${topApis})`
      : `  AWS calls: ${totalCalls} (${Object.entries(result.calls)
          .map(([api, n]) => `${api} ${n}`)
          .join(", ")})`;
  return [
    `  launched ${result.instances.length}: ${served.length} InService through the gate, ${abandoned.length} abandoned with a reason`,
    ...phaseLine(served.map((instance) => instance.phases)),
    ...warmPoolLine(served),
    ...warmPoolPhases(served),
    calls,
    `  function invocations: ${invocations}; failed invocations (retried): ${errors}; throttled API attempts: ${result.throttledAttempts}`,
    `  sent to failure destinations: ${result.eventsToFailureDestination} events, ${result.rechecksToFailureQueue} re-checks`,
    metricsLine(result),
    result.violations.length === 0
      ? `  invariants: all held — none InService without healthy targets, no hook left waiting or timed out undecided, no conflicting or repeated completion, no second bootstrap per wait, no healthy instance abandoned, no IAM denial, every operation finished${result.drains.length > 0 ? ", every leaving instance drained and its terminate wait completed by the drain" : ""}`
      : `  INVARIANTS VIOLATED (${result.violations.length}):\n${result.violations.map((v) => `    - ${v}`).join("\n")}`,
  ];
}

/**
 * Median seconds per phase over the instances that went InService, in two kinds: what the simulated
 * world took on its own (drawn from its models: no gate could be faster), and how long the gate took
 * to react to each change (measured: the gate's doing).
 */
function phaseLine(phases: readonly PhaseTimes[]): string[] {
  if (phases.length === 0) return [];
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;
  const of = (pick: (p: PhaseTimes) => number | undefined) =>
    median(phases.map(pick).filter((v): v is number => v !== undefined && Number.isFinite(v))).toFixed(1);
  const between = (from: keyof PhaseTimes, to: keyof PhaseTimes) => (p: PhaseTimes) =>
    p[from] === undefined || p[to] === undefined ? undefined : (p[to] as number) - (p[from] as number);
  return [
    `  modelled by the world (medians of ${phases.length}, s): agent Online ${of((p) => p.agentOnline)} after launch, ` +
      `bootstrap ${of(between("bootstrapSent", "bootstrapFinished"))}, ` +
      `registration → first passing health check ${of(between("registered", "firstHealthyCheck"))}`,
    `  the gate's reaction (measured, medians, s): agent Online → bootstrap sent ${of(between("agentOnline", "bootstrapSent"))}, ` +
      `bootstrap done → registered ${of(between("bootstrapFinished", "registered"))}, ` +
      `first passing check → hook completed ${of(between("firstHealthyCheck", "completed"))}; ` +
      `launch → InService ${of((p) => p.inService)}`,
  ];
}

/**
 * With a warm pool: each instance's time to InService, side by side — out of the pool (from leaving
 * it; its pool state said) and cold (from launch).
 */
function warmPoolLine(served: readonly InstanceResult[]): string[] {
  if (!served.some((instance) => instance.fromWarmPool)) return [];
  const each = (warm: boolean) =>
    served
      .filter((instance) => (instance.fromWarmPool ?? false) === warm)
      .map((instance) => `${instance.phases.inService ?? "?"} s (${instance.id.slice(0, 8)}…)`)
      .join(", ") || "none";
  const states = [...new Set(served.flatMap((instance) => instance.poolState ?? []))].join(", ");
  return [`  time to InService: out of the warm pool (${states}) ${each(true)}; cold launch ${each(false)}`];
}

/**
 * Where an instance's time out of the warm pool goes, phase by phase: what the world took (the
 * instance and AWS, modelled: no gate could do better) and what the gate added (its reaction to each).
 */
function warmPoolPhases(served: readonly InstanceResult[]): string[] {
  return served
    .filter((instance) => instance.fromWarmPool)
    .flatMap((instance) => {
      const p = instance.phases;
      const span = (from: number | undefined, to: number | undefined) =>
        from === undefined || to === undefined ? Number.NaN : to - from;
      // A running pool instance's agent was Online before its wait began: nothing of the world to wait
      // for, and the gate's lag counts from the wait (no command can be sent before it).
      const agentReady =
        p.agentOnline === undefined || p.waitBegan === undefined
          ? p.agentOnline
          : Math.max(p.waitBegan, p.agentOnline);
      const world = [
        ["wait begins", span(0, p.waitBegan)],
        [
          instance.poolState === "Running" ? "agent still online" : "agent back online",
          span(p.waitBegan, agentReady),
        ],
        ["start runs", span(p.bootstrapSent, p.bootstrapFinished)],
        ["registration → first passing check", span(p.registered, p.firstHealthyCheck)],
        ["CONTINUE → InService", span(p.completed, p.inService)],
      ] as const;
      const gate = [
        ["agent Online → start sent", span(agentReady, p.bootstrapSent)],
        ["start done → registered", span(p.bootstrapFinished, p.registered)],
        ["first passing check → hook completed", span(p.firstHealthyCheck, p.completed)],
      ] as const;
      const sum = (parts: readonly (readonly [string, number])[]) => parts.reduce((t, [, s]) => t + s, 0);
      const list = (parts: readonly (readonly [string, number])[]) =>
        parts.map(([what, s]) => `${what} ${s.toFixed(1)}`).join(", ");
      return [
        `  out of the warm pool (${instance.poolState ?? "Stopped"}), ${instance.id.slice(0, 8)}…: ${p.inService ?? "?"} s = the world ${sum(world).toFixed(1)} (${list(world)})`,
        `    + the gate ${sum(gate).toFixed(1)} (${list(gate)})`,
      ];
    });
}

function shortIds(instances: readonly InstanceResult[]): Map<string, string> {
  return new Map(instances.map((instance) => [instance.id, `${instance.id.slice(0, 8)}…`]));
}

function clock(seconds: number): string {
  const whole = Math.floor(seconds);
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
}

/**
 * The launchgate metrics the functions emitted (their per-group series; the finer ones by reason,
 * action, outcome or watch kind in parentheses), as the dashboard and alarms would see them.
 */
function metricsLine(result: ScenarioResult): string {
  const totals = new Map<string, number>();
  const finer = new Map<string, Map<string, number>>();
  for (const metric of result.metrics) {
    const { service: _service, group: _group, ...rest } = metric.dimensions;
    const detail = Object.values(rest).join("/");
    if (!detail) {
      if (metric.unit === "Count") totals.set(metric.name, (totals.get(metric.name) ?? 0) + metric.value);
      continue;
    }
    const byDetail = finer.get(metric.name) ?? new Map<string, number>();
    byDetail.set(detail, (byDetail.get(detail) ?? 0) + metric.value);
    finer.set(metric.name, byDetail);
  }
  // A metric emitted only per finer dimension (WatchLooks, per watch kind) shows its series' sum.
  for (const [name, byDetail] of finer)
    if (!totals.has(name))
      totals.set(
        name,
        [...byDetail.values()].reduce((sum, n) => sum + n, 0),
      );
  const parts = [...totals].map(([name, total]) => {
    const detail = [...(finer.get(name) ?? [])].map(([what, n]) => `${what} ${n}`).join(", ");
    return detail ? `${name} ${total} (${detail})` : `${name} ${total}`;
  });
  return `  metrics emitted: ${parts.length > 0 ? parts.join(", ") : "none"}`;
}
