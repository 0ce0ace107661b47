import { DescribeTargetHealthCommand, type TargetHealth } from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeInstanceInformationCommand } from "@aws-sdk/client-ssm";
import { errorMessage } from "../errors.js";
import { agentPingStatus, isThrottlingError } from "./bootstrap-command.js";
import type { GateDeps } from "./deps.js";
import type { RecheckMessage } from "./ports.js";
import type { GateRecord, RegisteredTarget } from "./record.js";
import { usableSeen } from "./seen.js";

/**
 * What the re-checks of one SQS batch need to read of the world, read once for all of them: one
 * DescribeInstanceInformation for every wait looking for its agent, one DescribeTargetHealth per target
 * group for every wait looking for health. Re-checks are timed to a shared grid (keep-alive.ts), so the
 * waits of a burst arrive together and a poll's cost is shared instead of paid per wait.
 */
export interface BatchReads {
  /** Agent ping status by instance id; undefined: SSM does not know the instance (yet). */
  readonly agentPings: ReadonlyMap<string, string | undefined>;
  /** Target health by healthKey(target group, instance). */
  readonly targetHealth: ReadonlyMap<string, TargetHealth | undefined>;
  /**
   * What the batch's shared read was throttled on (instance ids; healthKeys): those re-checks take it
   * as "not yet" (PollThrottledError) rather than each asking alone into the same throttling.
   */
  readonly throttled?: ReadonlySet<string>;
}

/**
 * A poll refused for its rate, by AWS (after the SDK's retries) or for the batch's shared read. Not a
 * failure of the step: it learned nothing, so it looks again later, at a stretched pace
 * (throttledPaceSeconds) — failing the step would have it retried at once, with all its reads.
 */
export class PollThrottledError extends Error {
  override readonly name = "PollThrottledError";
}

/** Whether a poll's error is a throttle: the step's "not yet". */
export function isPollThrottled(error: unknown): boolean {
  return error instanceof PollThrottledError || isThrottlingError(error);
}

/** The stretched pace's cap: a throttled poll never pushes the next look further than this. */
export const THROTTLED_PACE_CAP_SECONDS = 60;

/** The pace after a throttled poll: twice the step's own, up to a minute; never shorter than its own. */
export function throttledPaceSeconds(paceSeconds: number): number {
  return Math.max(paceSeconds, Math.min(2 * paceSeconds, THROTTLED_PACE_CAP_SECONDS));
}

/** DescribeInstanceInformation's most results per page, and instance ids per filter. */
const INSTANCE_INFORMATION_PAGE = 50;

export function healthKey(targetGroupArn: string, instanceId: string): string {
  return `${targetGroupArn} ${instanceId}`;
}

/** The agent's ping status: from the batch's shared read when it has one, else asked alone. */
export async function agentPing(deps: GateDeps, instanceId: string): Promise<string | undefined> {
  const shared = deps.batchReads?.agentPings;
  if (shared?.has(instanceId)) return shared.get(instanceId);
  if (deps.batchReads?.throttled?.has(instanceId))
    throw new PollThrottledError("shared agent read throttled");
  return agentPingStatus(deps, instanceId);
}

/** The shared read of a target's health, or undefined when the batch did not read it. */
export function sharedTargetHealth(
  deps: GateDeps,
  target: Pick<RegisteredTarget, "targetGroupArn">,
  instanceId: string,
): { readonly health: TargetHealth | undefined } | undefined {
  const shared = deps.batchReads?.targetHealth;
  const key = healthKey(target.targetGroupArn, instanceId);
  if (deps.batchReads?.throttled?.has(key))
    throw new PollThrottledError("shared target health read throttled");
  return shared?.has(key) ? { health: shared.get(key) } : undefined;
}

/**
 * Reads, once for the batch, what its re-checks will ask: only for waits whose record (read for the
 * batch) is in the phase the re-check serves, so nothing is read for a stale re-check. A read that
 * fails is left out, and each re-check then asks for itself.
 */
export async function readForBatch(
  deps: GateDeps,
  rechecks: readonly RecheckMessage[],
  records: ReadonlyMap<string, GateRecord | undefined>,
): Promise<BatchReads> {
  const now = deps.now();
  // A re-check that carries its wait (seen.ts) goes by that; any other, by its record read for the batch.
  const live = (step: RecheckMessage["step"], phase: GateRecord["phase"]): PolledWait[] =>
    rechecks.flatMap((recheck) => {
      if (recheck.step !== step) return [];
      const seen = usableSeen(recheck, now);
      if (seen) return [{ instanceId: recheck.instanceId, registered: seen.targets ?? [] }];
      const record = records.get(recheck.instanceId);
      return record?.token === recheck.token && record.phase === phase ? [record] : [];
    });
  const throttled = new Set<string>();
  const [agentPings, targetHealth] = await Promise.all([
    readAgentPings(deps, unique(live("agent", "awaiting-agent").map((wait) => wait.instanceId)), throttled),
    readTargetHealth(deps, live("health", "awaiting-health"), throttled),
  ]);
  return { agentPings, targetHealth, throttled };
}

/** One DescribeInstanceInformation per 50 instances: their agents' ping status (see readForBatch). */
export async function readAgentPings(
  deps: GateDeps,
  instanceIds: readonly string[],
  throttled: Set<string>,
): Promise<Map<string, string | undefined>> {
  const pings = new Map<string, string | undefined>();
  try {
    for (let start = 0; start < instanceIds.length; start += INSTANCE_INFORMATION_PAGE) {
      const ids = instanceIds.slice(start, start + INSTANCE_INFORMATION_PAGE);
      const found = new Map<string, string>();
      let nextToken: string | undefined;
      do {
        const page = await (deps.polls?.ssm ?? deps.ssm).send(
          new DescribeInstanceInformationCommand({
            Filters: [{ Key: "InstanceIds", Values: ids }],
            MaxResults: INSTANCE_INFORMATION_PAGE,
            NextToken: nextToken,
          }),
        );
        for (const info of page.InstanceInformationList ?? []) {
          if (info.InstanceId && info.PingStatus) found.set(info.InstanceId, String(info.PingStatus));
        }
        nextToken = page.NextToken;
      } while (nextToken);
      for (const id of ids) pings.set(id, found.get(id));
    }
  } catch (error) {
    if (isThrottlingError(error)) {
      // Each asking alone would meet the same throttling, once per wait: all of them look again later.
      for (const id of instanceIds) if (!pings.has(id)) throttled.add(id);
      deps.log.warn("shared agent read throttled; its re-checks look again later", {
        error: errorMessage(error),
      });
      return pings;
    }
    deps.log.warn("shared agent read failed; each re-check asks for itself", { error: errorMessage(error) });
    return new Map();
  }
  return pings;
}

/** A wait whose poll the batch reads: the instance, and the target groups it is registered with. */
export interface PolledWait {
  readonly instanceId: string;
  readonly registered: readonly Pick<RegisteredTarget, "targetGroupArn" | "port" | "name">[];
}

/** One DescribeTargetHealth per target group: the health of every wait's targets (see readForBatch). */
export async function readTargetHealth(
  deps: GateDeps,
  waits: readonly PolledWait[],
  throttled: Set<string>,
): Promise<Map<string, TargetHealth | undefined>> {
  const byGroup = new Map<string, { target: PolledWait["registered"][number]; instanceIds: string[] }>();
  for (const wait of waits) {
    for (const target of wait.registered) {
      const entry = byGroup.get(target.targetGroupArn) ?? { target, instanceIds: [] };
      entry.instanceIds.push(wait.instanceId);
      byGroup.set(target.targetGroupArn, entry);
    }
  }
  const health = new Map<string, TargetHealth | undefined>();
  await Promise.all(
    [...byGroup.values()].map(async ({ target, instanceIds }) => {
      try {
        // Every target of the group, not a list: one target that no longer exists (terminated) would
        // fail a listed call for all of them.
        const { TargetHealthDescriptions = [] } = await (deps.polls?.elbv2 ?? deps.elbv2).send(
          new DescribeTargetHealthCommand({ TargetGroupArn: target.targetGroupArn }),
        );
        // An instance the group does not list is not registered (yet): as a listed call answers it.
        const byInstance = new Map(
          TargetHealthDescriptions.filter((description) => description.Target?.Port === target.port).map(
            (description) => [description.Target?.Id, description.TargetHealth],
          ),
        );
        for (const id of instanceIds) health.set(healthKey(target.targetGroupArn, id), byInstance.get(id));
      } catch (error) {
        if (isThrottlingError(error)) {
          for (const id of instanceIds) throttled.add(healthKey(target.targetGroupArn, id));
          deps.log.warn("shared target health read throttled; its re-checks look again later", {
            targetGroup: target.name,
            error: errorMessage(error),
          });
          return;
        }
        deps.log.warn("shared target health read failed; each re-check asks for itself", {
          targetGroup: target.name,
          error: errorMessage(error),
        });
      }
    }),
  );
  return health;
}

function unique<T>(values: readonly T[]): T[] {
  return [...new Set(values)];
}
