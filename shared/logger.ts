import { AsyncLocalStorage } from "node:async_hooks";
import { Logger } from "@aws-lambda-powertools/logger";

/**
 * The one logger. Messages are short and lowercase; facts go in structured fields. Correlation keys
 * (instanceId, autoScalingGroupName, lifecycleActionToken, commandId) belong to the event being
 * handled: `withCorrelation` scopes them to it, so they stay right when a batch's events run at once
 * (a logger-wide appendKeys would mix them up). Log through `log` to carry them.
 */
export const logger = new Logger({ serviceName: "launchgate" });

const correlation = new AsyncLocalStorage<Readonly<Record<string, string>>>();

/** Runs `run` with these keys on every line logged through `log`, however its awaits interleave. */
export function withCorrelation<T>(keys: Readonly<Record<string, string>>, run: () => T): T {
  return correlation.run(keys, run);
}

type Extra = Record<string, unknown>;

export const log = {
  info: (message: string, extra: Extra = {}) => logger.info(message, { ...correlation.getStore(), ...extra }),
  warn: (message: string, extra: Extra = {}) => logger.warn(message, { ...correlation.getStore(), ...extra }),
  error: (message: string, extra: Extra = {}) =>
    logger.error(message, { ...correlation.getStore(), ...extra }),
};
