import type { WaitOrigin } from "../events/gate-event.js";
import type { LaunchMode } from "./record.js";

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
