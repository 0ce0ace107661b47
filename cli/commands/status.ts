import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { type AttributeValue, GetItemCommand, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig } from "../../shared/config/schema.js";
import type { GateRecord } from "../../shared/gate/record.js";
import {
  fromStored,
  type LaneStep,
  type OperationRecord,
  type OperationStep,
} from "../../shared/ops/operation.js";
import type { CliContext } from "../context.js";
import { ago, table } from "../render.js";

export interface InstanceStatus {
  readonly instanceId: string;
  readonly zone: string;
  readonly lifecycle: string;
  /** Per target group name: "healthy", or "unused (Target.NotInUse)". */
  readonly health: Readonly<Record<string, string>>;
  readonly gate?: {
    readonly phase: string;
    readonly outcome?: string;
    readonly reason?: string;
    readonly updatedAt?: number;
  };
  readonly lastCommand?: {
    readonly commandId: string;
    readonly status: string;
    readonly at?: number;
    readonly comment: string;
  };
}

export interface GroupStatus {
  readonly name: string;
  readonly desired?: number;
  readonly min?: number;
  readonly max?: number;
  readonly targetGroups: readonly string[];
  readonly instances: readonly InstanceStatus[];
  /** Its operations still running (re-bootstraps, remediations), oldest first. */
  readonly operations: readonly OperationStatus[];
}

/** An operation in flight, as `status` shows it. */
export interface OperationStatus {
  readonly operationId: string;
  readonly kind: OperationRecord["kind"];
  readonly groupName: string;
  /** `surging` (scaling out by one first) or `working` (through its instances, wave by wave). */
  readonly step: OperationStep;
  /** The instances it is on now and the step of each; empty while it scales out or between waves. */
  readonly working: readonly { readonly instanceId: string; readonly step: LaneStep }[];
  /** Instances finished, of all it works on. */
  readonly done: number;
  readonly total: number;
  /** At most this many instances at once. */
  readonly batchSize: number;
  readonly requestedAt: number;
  readonly updatedAt: number;
  /** Scaled out by one first (back at the end). */
  readonly surge: boolean;
  /** May drain the last healthy target: downtime accepted. */
  readonly force: boolean;
  readonly drainSeconds?: number;
  /** The bootstrap document version it runs, when not the default ($LATEST): a rollback, usually. */
  readonly documentVersion?: string;
  /** Remediations: the alarm whose episode it is. */
  readonly alarmName?: string;
}

/** Everything `status` shows, for each group: read-only calls only. */
export async function gatherStatus(ctx: CliContext, groups: readonly GroupConfig[]): Promise<GroupStatus[]> {
  const { gateStateTable, operationsTable } = await ctx.outputs();
  const [statuses, operations] = await Promise.all([
    Promise.all(groups.map((group) => gatherGroup(ctx, group, gateStateTable))),
    operationsInFlight(
      ctx,
      operationsTable,
      groups.map((group) => group.name),
    ),
  ]);
  return statuses.map((status, i) => ({
    ...status,
    operations: operations.filter((op) => op.groupName === groups[i]?.name),
  }));
}

/** The attributes `status` shows of an operation (its results are left on the server). */
const OPERATION_ATTRIBUTES = [
  "operationId",
  "kind",
  "groupName",
  "step",
  "status",
  "instanceIds",
  "index",
  "batchSize",
  "wave",
  // An operation stored before waves existed: a remediation climbing its ladder (see fromStored).
  "retrying",
  "requestedAt",
  "updatedAt",
  "surge",
  "force",
  "drainSeconds",
  "documentVersion",
  "alarmName",
] as const;

/**
 * The running operations of these groups. The operations table has one partition key (`id`,
 * `operation#<uuid>` for operations, beside locks and remediation history) and no index on status,
 * so this is a Scan filtered on the id prefix, the status and the groups: one read-only permission
 * (dynamodb:Scan on the table), and cheap because the table is small (records expire after 30 days).
 */
async function operationsInFlight(
  ctx: CliContext,
  tableName: string,
  groupNames: readonly string[],
): Promise<OperationStatus[]> {
  if (groupNames.length === 0) return [];
  const names: Record<string, string> = { "#id": "id", "#current": "current", "#instance": "instanceId" };
  for (const [i, attribute] of OPERATION_ATTRIBUTES.entries()) names[`#a${i}`] = attribute;
  const alias = (attribute: (typeof OPERATION_ATTRIBUTES)[number]) =>
    `#a${OPERATION_ATTRIBUTES.indexOf(attribute)}`;
  const values: Record<string, AttributeValue> = {
    ":prefix": { S: "operation#" },
    ":running": { S: "running" },
  };
  groupNames.forEach((name, i) => {
    values[`:g${i}`] = { S: name };
  });
  const wanted = new Set(groupNames);
  const found: OperationStatus[] = [];
  let startKey: Record<string, AttributeValue> | undefined;
  do {
    const page = await ctx.clients.dynamodb.send(
      new ScanCommand({
        TableName: tableName,
        FilterExpression: `begins_with(#id, :prefix) AND ${alias("status")} = :running AND ${alias("groupName")} IN (${groupNames.map((_, i) => `:g${i}`).join(", ")})`,
        ProjectionExpression: [...OPERATION_ATTRIBUTES.map(alias), "#current.#instance"].join(", "),
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
        ExclusiveStartKey: startKey,
      }),
    );
    for (const item of page.Items ?? []) {
      // Read as this version reads any stored operation: one written before waves existed included.
      const op = fromStored(unmarshall(item)) as Partial<OperationRecord>;
      // The filter said so already; checked again so that nothing finished is ever shown as running.
      if (op.status === "running" && op.operationId && op.groupName && wanted.has(op.groupName))
        found.push(operationStatus(op as OperationRecord));
    }
    startKey = page.LastEvaluatedKey;
  } while (startKey);
  return found.sort((a, b) => a.requestedAt - b.requestedAt);
}

function operationStatus(op: OperationRecord): OperationStatus {
  const instanceIds = op.instanceIds ?? [];
  const wave = op.wave ?? [];
  return {
    operationId: op.operationId,
    kind: op.kind,
    groupName: op.groupName,
    step: op.step,
    working: wave.map((lane) => ({ instanceId: lane.instanceId, step: lane.step })),
    done: Math.min(Math.max(0, (op.index ?? 0) - wave.length), instanceIds.length),
    total: instanceIds.length,
    batchSize: op.batchSize ?? 1,
    requestedAt: op.requestedAt,
    updatedAt: op.updatedAt,
    surge: op.surge !== undefined,
    force: op.force === true,
    ...(op.drainSeconds === undefined ? {} : { drainSeconds: op.drainSeconds }),
    ...(op.documentVersion === undefined ? {} : { documentVersion: op.documentVersion }),
    ...(op.alarmName === undefined ? {} : { alarmName: op.alarmName }),
  };
}

async function gatherGroup(ctx: CliContext, group: GroupConfig, table: string): Promise<GroupStatus> {
  const { autoScaling, elbv2 } = ctx.clients;
  const { AutoScalingGroups } = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
  );
  const asg = AutoScalingGroups?.[0];
  if (!asg)
    return { name: `${group.name} (not found in AWS)`, targetGroups: [], instances: [], operations: [] };
  const arns = asg.TargetGroupARNs ?? [];
  const { TargetGroups = [] } = arns.length
    ? await elbv2.send(new DescribeTargetGroupsCommand({ TargetGroupArns: arns }))
    : {};
  const health = new Map<string, Record<string, string>>();
  for (const tg of TargetGroups) {
    const { TargetHealthDescriptions = [] } = await elbv2.send(
      new DescribeTargetHealthCommand({ TargetGroupArn: tg.TargetGroupArn }),
    );
    for (const description of TargetHealthDescriptions) {
      const id = description.Target?.Id ?? "";
      const { State = "unknown", Reason } = description.TargetHealth ?? {};
      health.set(id, {
        ...health.get(id),
        [tg.TargetGroupName ?? ""]: Reason ? `${State} (${Reason})` : String(State),
      });
    }
  }
  const tgNames = TargetGroups.map((tg) => tg.TargetGroupName ?? "");
  const instances = await Promise.all(
    (asg.Instances ?? []).map(async (instance): Promise<InstanceStatus> => {
      const id = instance.InstanceId ?? "";
      const registered = health.get(id) ?? {};
      return {
        instanceId: id,
        zone: instance.AvailabilityZone ?? "",
        lifecycle: String(instance.LifecycleState ?? ""),
        health: Object.fromEntries(tgNames.map((name) => [name, registered[name] ?? "not registered"])),
        gate: await gateOf(ctx, table, id),
        lastCommand: await lastCommandOf(ctx, id, documentNameFor(ctx.config, group.name)),
      };
    }),
  );
  instances.sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  return {
    name: group.name,
    desired: asg.DesiredCapacity,
    min: asg.MinSize,
    max: asg.MaxSize,
    targetGroups: tgNames,
    instances,
    operations: [],
  };
}

async function gateOf(ctx: CliContext, table: string, instanceId: string): Promise<InstanceStatus["gate"]> {
  const { Item } = await ctx.clients.dynamodb.send(
    new GetItemCommand({ TableName: table, Key: { instanceId: { S: instanceId } } }),
  );
  if (!Item) return undefined;
  const record = unmarshall(Item) as GateRecord;
  return {
    phase: record.phase,
    outcome: record.outcome,
    reason: record.reason,
    updatedAt: record.history.at(-1)?.at,
  };
}

async function lastCommandOf(
  ctx: CliContext,
  instanceId: string,
  documentName: string,
): Promise<InstanceStatus["lastCommand"]> {
  const { CommandInvocations = [] } = await ctx.clients.ssm.send(
    new ListCommandInvocationsCommand({
      InstanceId: instanceId,
      MaxResults: 1,
      Filters: [{ key: "DocumentName", value: documentName }],
    }),
  );
  const last = CommandInvocations[0];
  if (!last?.CommandId) return undefined;
  return {
    commandId: last.CommandId,
    status: String(last.Status ?? ""),
    at: last.RequestedDateTime?.getTime(),
    comment: last.Comment ?? "",
  };
}

/** The human view: one table per group; the reason column says what an operator acts on. */
export function renderStatus(groups: readonly GroupStatus[], now: number): string[] {
  const lines: string[] = [];
  for (const group of groups) {
    const capacity =
      group.desired === undefined ? "" : ` (desired ${group.desired}, min ${group.min}, max ${group.max})`;
    lines.push(`${group.name}${capacity}`);
    if (group.instances.length === 0) {
      lines.push("  no instances", "");
      continue;
    }
    const headers = ["INSTANCE", "AZ", "LIFECYCLE", ...group.targetGroups, "GATE", "LAST COMMAND", "REASON"];
    const rows = group.instances.map((instance) => [
      instance.instanceId,
      instance.zone,
      instance.lifecycle,
      ...group.targetGroups.map((tg) => instance.health[tg] ?? ""),
      instance.gate ? `${instance.gate.phase} ${ago(instance.gate.updatedAt, now)}`.trim() : "—",
      instance.lastCommand
        ? `${instance.lastCommand.commandId.slice(0, 8)} ${instance.lastCommand.status} ${ago(instance.lastCommand.at, now)}`
        : "—",
      instance.gate?.reason ?? "",
    ]);
    lines.push(...table(headers, rows).map((line) => `  ${line}`), "");
  }
  lines.push(
    ...renderOperations(
      groups.flatMap((group) => group.operations),
      now,
    ),
  );
  return lines;
}

/** The operations in flight, one table for every group shown; the id is what --operation follows. */
function renderOperations(operations: readonly OperationStatus[], now: number): string[] {
  if (operations.length === 0) return ["no operation in flight", ""];
  const headers = ["OPERATION", "KIND", "GROUP", "WORKING ON", "PROGRESS", "STARTED", "FLAGS"];
  const rows = operations.map((op) => [
    op.operationId,
    op.kind,
    op.groupName,
    op.step === "surging"
      ? "surging"
      : op.working.map((lane) => `${lane.instanceId} ${lane.step}`).join(", ") || "next wave",
    `${op.done} of ${op.total} done`,
    ago(op.requestedAt, now),
    [
      op.batchSize > 1 && `batch ${op.batchSize}`,
      op.surge && "surge",
      op.force && "force",
      op.drainSeconds !== undefined && `drain ≤ ${op.drainSeconds} s`,
      op.documentVersion !== undefined && `document version ${op.documentVersion}`,
      op.alarmName !== undefined && `alarm ${op.alarmName}`,
    ]
      .filter((flag) => typeof flag === "string")
      .join(", ") || "—",
  ]);
  return ["operations in flight:", ...table(headers, rows).map((line) => `  ${line}`), ""];
}
