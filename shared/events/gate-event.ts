import type { RecheckMessage } from "../gate/ports.js";
import type { AlarmEvent } from "./parse-alarm.js";

/**
 * The one internal event type. Every trigger — a lifecycle action, an SSM status change, a delayed
 * re-check, an alarm — is converted into one of these before any logic sees it (see the parse-* modules).
 */
export type GateEvent = LaunchEvent | CommandFinishedEvent | RecheckEvent | AlarmEvent;

export type WaitOrigin = "EC2" | "AutoScalingGroup" | "WarmPool";

export interface LaunchEvent {
  readonly kind: "launch";
  readonly instanceId: string;
  readonly groupName: string;
  readonly hookName: string;
  readonly token: string;
  /**
   * Present only for groups with a warm pool (docs/aws-facts.md, events); absent means
   * EC2 → AutoScalingGroup.
   */
  readonly origin: WaitOrigin;
  readonly destination: WaitOrigin;
  /** When the instance started waiting (the event's `time`, epoch ms): the hook's heartbeat runs from here. */
  readonly waitStartedAt?: number;
}

export interface CommandFinishedEvent {
  readonly kind: "command-finished";
  readonly instanceId: string;
  readonly commandId: string;
  readonly documentName: string;
  /** As reported by the event; the handler re-reads the authoritative status. */
  readonly status: string;
}

export interface RecheckEvent extends RecheckMessage {
  readonly kind: "recheck";
}
