import type { SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { type DrainDeps, onDrainRecheck, startDrain } from "../../shared/drain/drain.js";
import type { GateEvent } from "../../shared/events/gate-event.js";
import {
  type DrainRecheckEvent,
  isDrainRecheckBody,
  parseDrainRecheck,
} from "../../shared/events/parse-drain-recheck.js";
import { parseLifecycleAction } from "../../shared/events/parse-lifecycle-action.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import {
  isTerminateAction,
  parseTerminateAction,
  type TerminateEvent,
} from "../../shared/events/parse-terminate-action.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import { onAgentRecheck, startGate } from "../../shared/gate/start-gate.js";
import { gateBatch } from "../../shared/runtime/batch-scope.js";
import { productionDrainDeps } from "../../shared/runtime/drain-deps.js";
import { productionWatchingDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";
import { isSqsEvent, retryDrainSoon, runEvent, runSqsBatch } from "../../shared/runtime/run-event.js";
import { alongsideWatches, type RemainingTime } from "../../shared/runtime/watch-messages.js";

/**
 * Launch function: EventBridge "EC2 Instance-launch Lifecycle Action" opens the gate; its SQS queue
 * brings the agent re-checks and runs the groups' agent watches (shared/gate/watch). It also drains on scale-in (shared/drain): "EC2 Instance-terminate
 * Lifecycle Action" at a drain hook starts a drain, and drain re-checks arrive on the same queue.
 * Parses, dispatches, maps the outcome — nothing else.
 */
export function createHandler(
  deps: () => GateDeps,
  drainDeps: () => DrainDeps = () => productionDrainDeps(deps()),
) {
  const dispatch = (gate: GateDeps) => async (event: GateEvent) => {
    if (event.kind === "launch") return startGate(gate, event);
    if (event.kind === "recheck") return onAgentRecheck(gate, event);
  };
  /** The batch's re-checks (gate steps) and drain re-checks. */
  const handleOthers = async (others: SQSRecord[]): Promise<SQSBatchResponse> => {
    const drains = others.filter((record) => isDrainRecheckBody(record.body));
    const gates = others.filter((record) => !isDrainRecheckBody(record.body));
    const failures: SQSBatchResponse["batchItemFailures"] = [];
    if (gates.length > 0) {
      const gateEvent: SQSEvent = { Records: gates };
      const response = await runSqsBatch(
        gateEvent,
        (body) => parseRecheck(body, ["agent"]),
        gateBatch(deps, dispatch),
      );
      failures.push(...response.batchItemFailures);
    }
    for (const record of drains) {
      let recheck: DrainRecheckEvent | undefined;
      try {
        await runEvent(
          () => {
            recheck = parseDrainRecheck(record.body);
            return correlation(recheck.instanceId, recheck.token);
          },
          () => (recheck ? onDrainRecheck(drainDeps(), recheck) : Promise.resolve()),
        );
      } catch {
        // Retried soon, as a failed gate re-check is: SQS's redelivery waits out the visibility timeout
        // (180 s), which can be more than the hook has left. Past the fast retries, SQS redelivers it.
        if (!(recheck && (await retryDrainSoon(recheck, drainDeps().rechecks))))
          failures.push({ itemIdentifier: record.messageId });
      }
    }
    return { batchItemFailures: failures };
  };
  return async (event: unknown, context?: RemainingTime): Promise<SQSBatchResponse | undefined> => {
    if (isSqsEvent(event)) {
      return alongsideWatches(
        event.Records,
        "agent",
        deps,
        (gate, e) => dispatch(gate)(e),
        context,
        handleOthers,
      );
    }
    if (isTerminateAction(event)) {
      let terminate: TerminateEvent | undefined;
      await runEvent(
        () => {
          terminate = parseTerminateAction(event);
          return correlation(terminate.instanceId, terminate.token);
        },
        () => (terminate ? startDrain(drainDeps(), terminate) : Promise.resolve()),
      );
      return undefined;
    }
    await runEvent(() => parseLifecycleAction(event), dispatch(deps()));
    return undefined;
  };
}

/**
 * runEvent (the retry policy and log correlation) takes a GateEvent; a drain's keys are an instance
 * and a lifecycle action token, as a re-check's are. Only its correlation keys are read.
 */
function correlation(instanceId: string, token: string): GateEvent {
  return { kind: "recheck", step: "agent", instanceId, token };
}

export const handler = withLambdaContext(createHandler(productionWatchingDeps));
