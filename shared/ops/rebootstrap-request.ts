import * as z from "zod/mini";
import { formatIssues } from "../config/format-issues.js";
import { InvalidInputError } from "../errors.js";
import { INSTANCE_ID } from "../events/instance-id.js";

/**
 * The re-bootstrap function's input (a direct `aws lambda invoke`, or the CLI over it):
 * - `{"instanceId": "i-…"}` — one instance;
 * - `{"autoScalingGroupName": "…", "all": true}` — a rollout over every InService instance of a group,
 *   `batch` at a time (a count, or a percentage of the instances it covers: `"25%"`; default 1);
 * - `{"operationId": "…"}` — the state of an operation started earlier.
 * Options: `phase` "start" (default: secrets, compose up, health) or "all" (prepare + start: also
 * install and pull); `dryRun` (say what would happen, change nothing); `wait` (return only when done,
 * within the function's 15-minute limit; otherwise return at once with the operation id).
 * Each instance is drained first (out of every target group) — so the last healthy target of a target
 * group is only worked on with `surge` (one more instance first) or `force` (downtime accepted);
 * `drainSeconds` caps the wait for draining below the target group's deregistration delay;
 * `documentVersion` runs an earlier version of the bootstrap document (a rollback).
 */
export type RebootstrapRequest =
  | { readonly kind: "status"; readonly operationId: string }
  | {
      readonly kind: "instance" | "group";
      readonly instanceId?: string;
      readonly groupName?: string;
      readonly phase: "start" | "all";
      readonly dryRun: boolean;
      readonly wait: boolean;
      /** Keep serving by scaling out by one first (and back in at the end). */
      readonly surge: boolean;
      /** Work on the last healthy target anyway: downtime accepted, and logged as such. */
      readonly force: boolean;
      /** At most this long waiting for draining; absent: the target group's deregistration delay. */
      readonly drainSeconds?: number;
      /** The bootstrap document's version to run (an earlier one rolls back a bad deploy); default $LATEST. */
      readonly documentVersion?: string;
      /** A rollout's instances worked on at once: a count, or a percentage of them; default 1. */
      readonly batch?: Batch;
    };

/** How many instances a rollout works on at once. */
export type Batch = { readonly count: number } | { readonly percent: number };

/**
 * The most instances a rollout works on at once: each pass over a wave reads every instance of it, in
 * one invocation of the operations function, and a larger wave is no safer to deploy anyway.
 */
export const MAX_BATCH = 20;

/**
 * The batch as a number of instances for a rollout over `total`: a percentage rounds down, at least 1;
 * never more than the instances or MAX_BATCH.
 */
export function batchSize(batch: Batch | undefined, total: number): number {
  if (batch === undefined) return 1;
  const wanted = "count" in batch ? batch.count : Math.floor((total * batch.percent) / 100);
  return Math.max(1, Math.min(wanted, total, MAX_BATCH));
}

const BATCH_ERROR = `a number of instances (1 to ${MAX_BATCH}) or a percentage of the instances the rollout covers, such as "25%" (1 to 100; at most ${MAX_BATCH} instances)`;
const batchSchema = z.union(
  [
    z.int().check(z.minimum(1, { error: BATCH_ERROR }), z.maximum(MAX_BATCH, { error: BATCH_ERROR })),
    z.string().check(z.regex(/^(100|[1-9]\d?)%$/, { error: BATCH_ERROR })),
  ],
  { error: BATCH_ERROR },
);

const schema = z.strictObject({
  instanceId: z.optional(z.string().check(z.regex(INSTANCE_ID))),
  autoScalingGroupName: z.optional(z.string().check(z.minLength(1), z.maxLength(255))),
  all: z.optional(z.boolean()),
  phase: z.optional(z.enum(["start", "all"])),
  dryRun: z.optional(z.boolean()),
  wait: z.optional(z.boolean()),
  surge: z.optional(z.boolean()),
  force: z.optional(z.boolean()),
  drainSeconds: z.optional(z.int().check(z.minimum(0), z.maximum(3600))),
  documentVersion: z.optional(
    z.string().check(
      z.regex(/^(\$LATEST|\$DEFAULT|[1-9]\d{0,7})$/, {
        error: "$LATEST, $DEFAULT or a version number of the bootstrap document, such as 3",
      }),
    ),
  ),
  operationId: z.optional(z.string().check(z.regex(/^[0-9a-f-]{36}$/))),
  batch: z.optional(batchSchema),
});

export function parseRebootstrapRequest(raw: unknown): RebootstrapRequest {
  const parsed = schema.safeParse(raw, { reportInput: true });
  if (!parsed.success)
    throw new InvalidInputError(
      `invalid re-bootstrap request: ${formatIssues(parsed.error.issues).join("; ")}`,
    );
  const input = parsed.data;
  if (input.operationId !== undefined) {
    if (Object.keys(input).length > 1)
      throw new InvalidInputError(
        '"operationId" asks for the state of an operation and takes no other field',
      );
    return { kind: "status", operationId: input.operationId };
  }
  if (input.surge && input.force) {
    throw new InvalidInputError(
      '"surge" keeps serving (one more instance first) and "force" accepts downtime: choose one',
    );
  }
  const options = {
    phase: input.phase ?? "start",
    dryRun: input.dryRun ?? false,
    wait: input.wait ?? false,
    surge: input.surge ?? false,
    force: input.force ?? false,
    ...(input.drainSeconds === undefined ? {} : { drainSeconds: input.drainSeconds }),
    ...(input.documentVersion === undefined ? {} : { documentVersion: input.documentVersion }),
  } as const;
  const batch: Batch | undefined =
    input.batch === undefined
      ? undefined
      : typeof input.batch === "number"
        ? { count: input.batch }
        : { percent: Number.parseInt(input.batch, 10) };
  if (input.instanceId !== undefined && input.autoScalingGroupName !== undefined) {
    throw new InvalidInputError('give either "instanceId" or "autoScalingGroupName", not both');
  }
  if (input.instanceId !== undefined) {
    if (input.all !== undefined)
      throw new InvalidInputError('"all" goes with "autoScalingGroupName", not with "instanceId"');
    if (batch !== undefined)
      throw new InvalidInputError(
        '"batch" is for a rollout over a group ("autoScalingGroupName" with "all": true), not one instance',
      );
    return { kind: "instance", instanceId: input.instanceId, ...options };
  }
  if (input.autoScalingGroupName !== undefined) {
    if (input.all !== true) {
      throw new InvalidInputError(
        'to re-bootstrap every instance of a group, say so: {"autoScalingGroupName": "…", "all": true}',
      );
    }
    return {
      kind: "group",
      groupName: input.autoScalingGroupName,
      ...options,
      ...(batch === undefined ? {} : { batch }),
    };
  }
  throw new InvalidInputError(
    'nothing to do: give "instanceId", or "autoScalingGroupName" with "all": true, or "operationId"',
  );
}
