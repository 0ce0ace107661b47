import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The one logger. Messages are short and lowercase; facts go in structured fields. Correlation keys
 * (instanceId, autoScalingGroupName, lifecycleActionToken, commandId) are appended per event with
 * `logger.appendKeys` and cleared by the handler with `logger.resetKeys()` after each event.
 */
export const logger = new Logger({ serviceName: "launchgate" });
