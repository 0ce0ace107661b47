import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/functions.js";
import type { CommandFinishedEvent, LaunchEvent, RecheckEvent } from "../../shared/events/gate-event.js";
import type { RecheckStep } from "../../shared/gate/ports.js";
import { DOCUMENT, GROUP, HOOK, INSTANCE_ID, TOKEN } from "./gate-harness.js";

/** A whole, real-shaped EventBridge event from test/fixtures/events. */
export function fixture(name: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(ROOT, "test", "fixtures", "events", `${name}.json`), "utf8"));
}

export function launchEvent(overrides: Partial<LaunchEvent> = {}): LaunchEvent {
  return {
    kind: "launch",
    instanceId: INSTANCE_ID,
    groupName: GROUP,
    hookName: HOOK,
    token: TOKEN,
    origin: "EC2",
    destination: "AutoScalingGroup",
    ...overrides,
  };
}

export function commandFinished(commandId: string, status = "Success"): CommandFinishedEvent {
  return { kind: "command-finished", instanceId: INSTANCE_ID, commandId, documentName: DOCUMENT, status };
}

export function recheck(step: RecheckStep, token = TOKEN): RecheckEvent {
  return { kind: "recheck", step, instanceId: INSTANCE_ID, token };
}
