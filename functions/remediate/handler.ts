import { parseAlarm } from "../../shared/events/parse-alarm.js";
import type { OpsDeps } from "../../shared/ops/advance-operation.js";
import { startRemediation } from "../../shared/ops/remediation/start-remediation.js";
import { productionOpsDeps } from "../../shared/runtime/gate-deps.js";
import { withLambdaContext } from "../../shared/runtime/lambda-context.js";
import { runEvent } from "../../shared/runtime/run-event.js";

/**
 * Remediate function: EventBridge "CloudWatch Alarm State Change" to ALARM, for the alarms named in
 * config. It decides and starts a remediation operation; the operation's steps then run in the
 * operations function (functions/rebootstrap), like a re-bootstrap.
 */
export function createHandler(deps: () => OpsDeps) {
  return async (event: unknown): Promise<void> => {
    await runEvent(
      () => parseAlarm(event),
      async (alarm) => {
        if (alarm.kind === "alarm") await startRemediation(deps(), alarm);
      },
    );
  };
}

export const handler = withLambdaContext(createHandler(productionOpsDeps));
