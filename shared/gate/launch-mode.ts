import type { WaitOrigin } from "../events/gate-event.js";
import type { GateRecord, LaunchMode } from "./record.js";

/**
 * What a wait is for, from the event's Origin/Destination (docs/aws-facts.md, warm pools):
 * - EC2 → WarmPool: the slow part only (install, pull); the instance will not serve yet.
 * - WarmPool → AutoScalingGroup: the fast part only (start, health), then traffic.
 * - EC2 → AutoScalingGroup (or no warm pool): everything, then traffic.
 */
export function launchModeFor(origin: WaitOrigin, destination: WaitOrigin): LaunchMode {
  if (destination === "WarmPool") return { bootstrapPhase: "prepare", needsTraffic: false };
  if (origin === "WarmPool") return { bootstrapPhase: "start", needsTraffic: true };
  return { bootstrapPhase: "all", needsTraffic: true };
}

/** The lifecycle state in which a launch hook holds an instance. */
export type WaitState = "Pending:Wait" | "Warmed:Pending:Wait";

/**
 * Where a wait of this mode holds the instance: a launch into the warm pool waits in
 * `Warmed:Pending:Wait`, every launch into the group (from EC2 or out of the pool) in `Pending:Wait`
 * (docs/aws-facts.md, warm pools). A warm-pool instance's two waits are in different states; that is
 * what tells, by instance id alone, which of them holds it now.
 */
export function waitStateOf(mode: LaunchMode): WaitState {
  return mode.needsTraffic ? "Pending:Wait" : "Warmed:Pending:Wait";
}

/**
 * The Origin/Destination of a wait found without its lifecycle event (the reconciler's sighting, an
 * operator's resume), from the state it waits in and the instance's earlier record. A wait into the
 * pool is `Warmed:Pending:Wait`. A `Pending:Wait` of an instance whose last record was its wait into
 * the pool is its move out of the pool: only `start` (which prepares again itself if the prepare did
 * not finish, or ran under another document: bootstrap/bootstrap.sh). Without such a record the origin
 * is unknown, and `all` is right either way (every step is idempotent).
 */
export function sightedTransition(
  state: string,
  earlier: Pick<GateRecord, "mode"> | undefined,
): { readonly origin: WaitOrigin; readonly destination: WaitOrigin } {
  if (state === "Warmed:Pending:Wait") return { origin: "EC2", destination: "WarmPool" };
  const leftPool = earlier !== undefined && waitStateOf(earlier.mode) === "Warmed:Pending:Wait";
  return { origin: leftPool ? "WarmPool" : "EC2", destination: "AutoScalingGroup" };
}
