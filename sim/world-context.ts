import type { Random } from "./engine/random.js";
import type { VirtualClock } from "./engine/virtual-clock.js";

/**
 * SIMULATION — what every model shares: the virtual clock, seeded randomness, the timeline that the
 * report prints, and the list of invariant violations the models detect as they happen.
 */

export type TimelineSource = "asg" | "ssm" | "elb" | "gate" | "events" | "fault" | "lambda";

export interface TimelineEntry {
  readonly at: number;
  readonly source: TimelineSource;
  readonly instanceId?: string;
  readonly what: string;
}

export interface WorldContext {
  readonly clock: VirtualClock;
  readonly random: Random;
  readonly timeline: TimelineEntry[];
  readonly violations: string[];
  note(source: TimelineSource, what: string, instanceId?: string): void;
  violation(what: string): void;
}

export function createContext(clock: VirtualClock, random: Random): WorldContext {
  const timeline: TimelineEntry[] = [];
  const violations: string[] = [];
  return {
    clock,
    random,
    timeline,
    violations,
    note: (source, what, instanceId) => timeline.push({ at: clock.now(), source, what, instanceId }),
    violation: (what) => violations.push(`${new Date(clock.now()).toISOString()} ${what}`),
  };
}

/** How one simulated instance behaves, scripted by the scenario. Seconds are virtual. */
export interface InstanceBehaviour {
  readonly zone: string;
  /** When the SSM agent comes Online after launch; null: never. */
  readonly agentOnlineAfterSeconds: number | null;
  readonly bootstrap:
    | { readonly outcome: "Success"; readonly seconds: number }
    | {
        readonly outcome: "Failed";
        readonly seconds: number;
        readonly failedStep: string;
        readonly stderr: string;
      }
    /** Runs past the document's execution timeout: SSM ends it as TimedOut. */
    | { readonly outcome: "Hang" };
  /** Once the bootstrap succeeded, the app answers health checks after this long; null: never. */
  readonly appHealthyAfterSeconds: number | null;
}
