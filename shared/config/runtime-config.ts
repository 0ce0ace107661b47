import * as z from "zod/mini";
import { formatIssues } from "./format-issues.js";
import { isPollInterval, POLL_INTERVAL_ALLOWED } from "./poll-intervals.js";
import type { LaunchgateConfig } from "./schema.js";

/**
 * What a Lambda needs of the config at run time, passed by the stack as the LAUNCHGATE_RUNTIME env var
 * (JSON). A subset of LaunchgateConfig plus the names of resources the stack created. It is validated
 * again at cold start: a broken deployment fails loudly on its first event, not halfway through a gate.
 */
const nonEmpty = () => z.string().check(z.minLength(1));
const positiveInt = () => z.int().check(z.positive());
/** What the config allows (poll-intervals.ts), checked again: a hand-edited environment gets no further. */
const pollInterval = () => z.number().check(z.refine(isPollInterval, POLL_INTERVAL_ALLOWED));

export const runtimeGroupSchema = z.strictObject({
  name: nonEmpty(),
  hookName: nonEmpty(),
  heartbeatTimeoutSeconds: z.int().check(z.minimum(360), z.maximum(7200)),
  gateTimeoutSeconds: positiveInt(),
  agentTimeoutSeconds: positiveInt(),
  bootstrapTimeoutSeconds: positiveInt(),
  targetGroups: z.array(nonEmpty()).check(z.minLength(1)),
  documentName: z.string().check(z.minLength(3)),
  remediation: z.strictObject({
    alarms: z.array(nonEmpty()),
    maxInstances: positiveInt(),
    maxPercentOfGroup: positiveInt(),
    restartAttempts: z.int().check(z.minimum(0)),
    attemptWindowMinutes: positiveInt(),
    cooldownMinutes: positiveInt(),
    dryRun: z.boolean(),
    systemicThresholdPercent: positiveInt(),
    maxReplacementsPerHour: z.int().check(z.minimum(0)),
  }),
  /** Graceful drain on scale-in; absent: the group has no terminate hook. */
  drain: z.optional(z.strictObject({ hookName: nonEmpty(), timeoutSeconds: positiveInt() })),
});

export const runtimeConfigSchema = z.strictObject({
  groups: z.array(runtimeGroupSchema).check(z.minLength(1)),
  stateTableName: nonEmpty(),
  operationsTableName: nonEmpty(),
  recheckQueueUrls: z.strictObject({ launch: nonEmpty(), result: nonEmpty(), operations: nonEmpty() }),
  /** How often a group's watch looks, by what it looks for (the config's pollIntervalSeconds). */
  pollIntervalSeconds: z.strictObject({ agent: pollInterval(), health: pollInterval() }),
  /**
   * The CloudWatch Logs group SSM streams every bootstrap command's full output to. Optional so that a
   * deployment without it still sends commands (their output then lives only in SSM, truncated).
   */
  commandOutputLogGroup: z.optional(nonEmpty()),
});

export type RuntimeConfig = z.output<typeof runtimeConfigSchema>;
export type RuntimeGroup = z.output<typeof runtimeGroupSchema>;

export const RUNTIME_CONFIG_ENV = "LAUNCHGATE_RUNTIME";

/** Parses the runtime config from the environment; throws with every problem listed. */
export function readRuntimeConfig(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  const raw = env[RUNTIME_CONFIG_ENV];
  if (!raw)
    throw new Error(
      `${RUNTIME_CONFIG_ENV} is not set: this function must be deployed by the launchgate stack`,
    );
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (error) {
    throw new Error(`${RUNTIME_CONFIG_ENV} is not valid JSON: ${(error as Error).message}`);
  }
  const result = runtimeConfigSchema.safeParse(json, { reportInput: true });
  if (!result.success) {
    throw new Error(`${RUNTIME_CONFIG_ENV} is invalid: ${formatIssues(result.error.issues).join("; ")}`);
  }
  return result.data;
}

/** The SSM document name for a group: deterministic, so the IAM policy and event pattern can name it. */
export function documentNameFor(config: Pick<LaunchgateConfig, "stackName">, groupName: string): string {
  return `${config.stackName}-${groupName}-bootstrap`.slice(0, 128);
}

/**
 * The log group for bootstrap command output: deterministic, so the instance role's policy (which the
 * user writes, see README) and `launchgate doctor` can name it without reading the stack.
 */
export function commandLogGroupNameFor(config: Pick<LaunchgateConfig, "stackName">): string {
  return `/launchgate/${config.stackName}/bootstrap-output`;
}

/** The terminate (drain) hook's name: the launch hook's, suffixed; at most 255 characters. */
export function drainHookNameFor(hookName: string): string {
  return `${hookName.slice(0, 255 - "-drain".length)}-drain`;
}

/**
 * The drain hook's heartbeat timeout: the drain limit plus a margin for the send, the re-checks and the
 * completion. Its default result is CONTINUE, so even a lost completion never blocks termination long.
 */
export function drainHookHeartbeatSeconds(timeoutSeconds: number): number {
  return Math.min(7200, Math.max(60, timeoutSeconds + 300));
}

/** Builds the runtime config from the validated user config and the stack's resource names. */
export function toRuntimeConfig(
  config: LaunchgateConfig,
  resources: Pick<
    RuntimeConfig,
    "stateTableName" | "operationsTableName" | "recheckQueueUrls" | "commandOutputLogGroup"
  >,
): RuntimeConfig {
  return {
    groups: config.groups.map((group) => ({
      name: group.name,
      hookName: group.hookName,
      heartbeatTimeoutSeconds: group.heartbeatTimeoutSeconds,
      gateTimeoutSeconds: group.gateTimeoutSeconds,
      agentTimeoutSeconds: group.agentTimeoutSeconds,
      bootstrapTimeoutSeconds: group.bootstrapTimeoutSeconds,
      targetGroups: [...group.targetGroups],
      documentName: documentNameFor(config, group.name),
      remediation: { ...group.remediation, alarms: [...group.remediation.alarms] },
      ...(group.drain
        ? {
            drain: { hookName: drainHookNameFor(group.hookName), timeoutSeconds: group.drain.timeoutSeconds },
          }
        : {}),
    })),
    pollIntervalSeconds: { ...config.pollIntervalSeconds },
    ...resources,
  };
}
