import type { ModelledDurations, OverheadFigures } from "./launch-costs.js";

/** BENCH — the figures `npm run bench -- --json FILE` writes, and the table it prints. */
export interface Figures extends OverheadFigures {
  readonly controlPlaneCallsPerLaunch: number;
  readonly callsPerLaunch: number;
  /** All calls per launch with 60 % of the control plane's attempts throttled. */
  readonly callsPerLaunchThrottled: number;
  /** Control-plane calls per launch, same sweep. */
  readonly controlPlaneCallsPerLaunchThrottled: number;
  /** All calls per launch with 60 % of every API's attempts throttled, DynamoDB and SQS too (no goal). */
  readonly callsPerLaunchEveryApiThrottled: number;
  readonly coldImportRatio: Readonly<Record<string, number>>;
  readonly bundleKiB: Readonly<Record<string, number>>;
}

/** One setting of the config's `pollIntervalSeconds`, and what it costs and gains on a sweep. */
export interface PollIntervalTrade extends OverheadFigures {
  readonly pollIntervalSeconds: { readonly agent: number; readonly health: number };
  readonly controlPlaneCallsPerLaunch: number;
  readonly callsPerLaunch: number;
}

export interface BenchFigures extends Figures {
  readonly baseline: Figures;
  /** The default poll intervals (the first row) and longer ones, each on the same sweep of scale-outs. */
  readonly pollIntervalTrade: readonly PollIntervalTrade[];
}

/** One burst size's figures: calls per launch (control plane, all) and the polled phases' mean lag (s). */
export interface BurstFigures {
  readonly burst: number;
  /** Scale-outs run for it. */
  readonly scaleOuts: number;
  readonly controlPlane: number;
  readonly all: number;
  readonly agentLag: number;
  readonly healthLag: number;
}

export interface RunFacts {
  readonly launches: number;
  readonly throttledLaunches: number;
  readonly seeds: number;
  readonly burst: number;
  readonly pairs: number;
  readonly byApi: Readonly<Record<string, number>>;
  /** Calls per launch and polled phases' lag by number of instances launched at once. */
  readonly bySize: readonly BurstFigures[];
  readonly modelled: ModelledDurations;
  readonly importMs: Readonly<Record<string, number>>;
  readonly baselineImportMs: number;
  readonly seconds: number;
}

/** The issue's goals, as predicates on the gate's figures. */
const GOALS: readonly { readonly text: string; readonly met: (f: BenchFigures) => boolean }[] = [
  { text: "control-plane calls per launch ≤ 12", met: (f) => f.controlPlaneCallsPerLaunch <= 12 },
  { text: "all calls per launch ≤ 30", met: (f) => f.callsPerLaunch <= 30 },
  {
    text: "throttled ≤ 2 × unthrottled, all calls",
    met: (f) => f.callsPerLaunchThrottled <= 2 * f.callsPerLaunch,
  },
  {
    text: "throttled ≤ 2 × unthrottled, control-plane calls",
    met: (f) => f.controlPlaneCallsPerLaunchThrottled <= 2 * f.controlPlaneCallsPerLaunch,
  },
  { text: "overhead ≤ 5 s mean per launch", met: (f) => f.overheadSecondsMean <= 5 },
  {
    text: "overhead ≤ 2 s mean per polled phase",
    met: (f) => Object.values(f.phaseOverheadSeconds).every((seconds) => seconds <= 2),
  },
  {
    text: "cold import ≤ 0.5 × naive, every function",
    met: (f) => Object.values(f.coldImportRatio).every((ratio) => ratio <= 0.5),
  },
];

const one = (n: number) => n.toFixed(1);
const tradeRow = (...cells: string[]) =>
  `  ${(cells[0] ?? "").padEnd(24)}${cells
    .slice(1)
    .map((cell) => cell.padStart(14))
    .join("")}`;
const two = (n: number) => n.toFixed(2);

export function renderBench(f: BenchFigures, facts: RunFacts): string {
  const b = f.baseline;
  const row = (name: string, ours: string, baseline: string, goal: string) =>
    `  ${name.padEnd(44)} ${ours.padStart(10)} ${baseline.padStart(10)}   ${goal}`;
  const lines = [
    `launchgate bench — ${facts.launches} simulated launches (${facts.seeds} scale-outs of ${facts.burst}), ` +
      `${facts.throttledLaunches} with 60 % of the control plane's attempts throttled; cold imports: ` +
      `${facts.pairs} paired runs per function`,
    "",
    row("figure", "launchgate", "baseline", "goal"),
    row(
      "control-plane calls per launch (ASG+SSM+ELB)",
      one(f.controlPlaneCallsPerLaunch),
      one(b.controlPlaneCallsPerLaunch),
      "≤ 12",
    ),
    row("all calls per launch", one(f.callsPerLaunch), one(b.callsPerLaunch), "≤ 30"),
    row(
      "all calls per launch, 60 % throttled",
      one(f.callsPerLaunchThrottled),
      one(b.callsPerLaunchThrottled),
      `≤ ${one(2 * f.callsPerLaunch)} (2 ×)`,
    ),
    row(
      "  control-plane calls, 60 % throttled",
      one(f.controlPlaneCallsPerLaunchThrottled),
      one(b.controlPlaneCallsPerLaunchThrottled),
      `≤ ${one(2 * f.controlPlaneCallsPerLaunch)} (2 ×)`,
    ),
    row(
      "  all calls, every API 60 % throttled",
      one(f.callsPerLaunchEveryApiThrottled),
      one(b.callsPerLaunchEveryApiThrottled),
      "",
    ),
    row("gate overhead per launch, mean (s)", one(f.overheadSecondsMean), one(b.overheadSecondsMean), "≤ 5"),
    row("gate overhead per launch, p95 (s)", one(f.overheadSecondsP95), one(b.overheadSecondsP95), ""),
    row(
      "  agent Online → bootstrap sent (s)",
      one(f.phaseOverheadSeconds.agent),
      one(b.phaseOverheadSeconds.agent),
      "≤ 2",
    ),
    row(
      "  bootstrap finished → registered (s)",
      one(f.phaseOverheadSeconds.command),
      one(b.phaseOverheadSeconds.command),
      "≤ 2",
    ),
    row(
      "  first passing check → hook completed (s)",
      one(f.phaseOverheadSeconds.health),
      one(b.phaseOverheadSeconds.health),
      "≤ 2",
    ),
    "",
    row("cold import, ratio to the naive bundle", "", "1.00", "≤ 0.5"),
    ...Object.entries(f.coldImportRatio).map(([name, ratio]) =>
      row(
        `  ${name} (${one(facts.importMs[name] ?? 0)} ms)`,
        two(ratio),
        `${one(facts.baselineImportMs)} ms`,
        "",
      ),
    ),
    row("bundle size, every file deployed (KiB)", "", one(b.bundleKiB.naive ?? 0), ""),
    ...Object.entries(f.bundleKiB).map(([name, size]) => row(`  ${name}`, one(size), "", "")),
    "",
    "goals:",
    ...GOALS.map((goal) => `  ${goal.met(f) ? "met    " : "NOT MET"}  ${goal.text}`),
    "",
    `the poll-interval trade (config pollIntervalSeconds; ${facts.seeds} scale-outs of ${facts.burst} each):`,
    tradeRow("agent / health (s)", "control plane", "all calls", "overhead", "agent", "health"),
    ...f.pollIntervalTrade.map((t, index) =>
      tradeRow(
        `${t.pollIntervalSeconds.agent} / ${t.pollIntervalSeconds.health}${index === 0 ? " (default)" : ""}`,
        one(t.controlPlaneCallsPerLaunch),
        one(t.callsPerLaunch),
        one(t.overheadSecondsMean),
        one(t.phaseOverheadSeconds.agent),
        one(t.phaseOverheadSeconds.health),
      ),
    ),
    "",
    "modelled by the simulation, not the gate's doing (means): agent Online " +
      `${one(facts.modelled.agentOnlineAfterLaunch)} s after launch, bootstrap ${one(facts.modelled.bootstrap)} s, ` +
      `registration → first passing check ${one(facts.modelled.registrationToFirstPassingCheck)} s`,
    "by burst size: calls per launch (control plane / all) and lag (agent / health, s), over N scale-outs:",
    ...facts.bySize.map(
      (size) =>
        `  ${String(size.burst).padStart(2)}: ${one(size.controlPlane)} / ${one(size.all)} calls, ` +
        `${one(size.agentLag)} / ${one(size.healthLag)} s (${size.scaleOuts})`,
    ),
    `calls per launch by API: ${Object.entries(facts.byApi)
      .map(([api, n]) => `${api} ${one(n)}`)
      .join(", ")}`,
    "baseline: the common polling sample (one Lambda polling every 30 s from the lifecycle event), " +
      "replayed on the same launches; its throttled figure is its calls × the SDK's mean attempts at 60 %.",
    "the simulation deals each queue's due messages out among five pollers, as Lambda's mapping starts " +
      "(docs/aws-facts.md, batch sends and batching windows); throttling is per attempt, not a token bucket, " +
      "and applies to Auto Scaling, SSM and ELB, which throttle per account and Region (docs/aws-facts.md, API throttling).",
    `(${one(facts.seconds)} s)`,
  ];
  return lines.join("\n");
}
