import {
  type InstanceResult,
  type Lane,
  type OperationRecord,
  takeWave,
} from "../../shared/ops/operation.js";
import { table } from "../render.js";

/** How a re-bootstrap operation reads on the terminal: where it is, each result, its final table. */

/** "one at a time", "2 at a time". */
export function atATime(batchSize: number): string {
  return batchSize <= 1 ? "one at a time" : `${batchSize} at a time`;
}

/** How a rollout moves on: "one at a time, each verified healthy before the next", or by waves. */
export function paceOf(batchSize: number): string {
  return batchSize <= 1
    ? "one at a time, each verified healthy before the next"
    : `up to ${batchSize} at a time (never the last healthy target), each wave verified healthy before the next`;
}

/** What a running operation is doing now: one line per instance of its wave (or the surge). */
export function progressLines(op: OperationRecord): string[] {
  if (op.step === "surging") {
    const desired = op.surge?.originalDesired;
    return [
      desired === undefined
        ? `  … surging: scaling ${op.groupName} out by one before touching any instance`
        : `  … surging: ${op.groupName} scaled out by one (desired ${desired} → ${desired + 1}); waiting for the new instance to pass its launch gate and serve`,
    ];
  }
  const total = op.instanceIds.length;
  // Between waves, the next one is about to start.
  const lanes = op.wave.length > 0 ? op.wave : takeWave(op).wave;
  return lanes.map((lane) => {
    const position = op.instanceIds.indexOf(lane.instanceId) + 1;
    return `  … ${lane.instanceId} (${position} of ${total}): ${laneStep(op, lane)}`;
  });
}

function laneStep(op: OperationRecord, lane: Lane): string {
  switch (lane.step) {
    case "starting":
      return "starting (checks, lock, target groups)";
    case "draining":
      return `draining: out of every target group, open requests finishing (${
        op.drainSeconds === undefined
          ? "up to the target group's deregistration delay"
          : `at most ${op.drainSeconds} s`
      })`;
    case "running": {
      const command = lane.current?.commandId ? ` ${lane.current.commandId}` : "";
      const version = op.documentVersion === undefined ? "" : `, document version ${op.documentVersion}`;
      const cut = lane.current?.drainCutShort ? " (drain cut short at the requested limit)" : "";
      return `running: bootstrap command${command}${version}${cut}`;
    }
    case "verifying":
      return `verifying: ${lane.current?.drained ? "registered again; " : ""}waiting for healthy in every target group`;
  }
}

export function resultLine(result: InstanceResult, position: number, total: number): string {
  return `  ${result.instanceId} (${position} of ${total}): ${result.outcome} after ${result.seconds} s: ${result.reason}`;
}

/**
 * The end of an operation: its status (and why it stopped before an instance, when it did), then every
 * instance's outcome and reason, those it never reached included, and whether a surge was undone.
 */
export function finalReport(op: OperationRecord): string[] {
  const lines = [`operation ${op.status}${op.failure ? `: ${op.failure}` : ""}`];
  const byInstance = new Map(op.results.map((result) => [result.instanceId, result]));
  const rows = [
    ...op.results.map((result) => [result.instanceId, result.outcome, `${result.seconds} s`, result.reason]),
    ...op.instanceIds
      .filter((instanceId) => !byInstance.has(instanceId))
      .map((instanceId) => [
        instanceId,
        "not started",
        "",
        op.status === "succeeded" ? "" : "the operation stopped before it: not touched",
      ]),
  ];
  lines.push(...table(["INSTANCE", "OUTCOME", "TIME", "REASON"], rows).map((line) => `  ${line}`));
  const desired = op.surge?.originalDesired;
  if (op.surge?.restored && desired !== undefined)
    lines.push(`surge undone: ${op.groupName} desired capacity back to ${desired}`);
  return lines;
}
