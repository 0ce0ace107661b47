import { DescribeAutoScalingGroupsCommand } from "@aws-sdk/client-auto-scaling";
import { GetItemCommand } from "@aws-sdk/client-dynamodb";
import {
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListCommandInvocationsCommand } from "@aws-sdk/client-ssm";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig } from "../../shared/config/schema.js";
import type { GateRecord } from "../../shared/gate/record.js";
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
}

/** Everything `status` shows, for each group: read-only calls only. */
export async function gatherStatus(ctx: CliContext, groups: readonly GroupConfig[]): Promise<GroupStatus[]> {
  const { gateStateTable } = await ctx.outputs();
  return Promise.all(groups.map((group) => gatherGroup(ctx, group, gateStateTable)));
}

async function gatherGroup(ctx: CliContext, group: GroupConfig, table: string): Promise<GroupStatus> {
  const { autoScaling, elbv2 } = ctx.clients;
  const { AutoScalingGroups } = await autoScaling.send(
    new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group.name] }),
  );
  const asg = AutoScalingGroups?.[0];
  if (!asg) return { name: `${group.name} (not found in AWS)`, targetGroups: [], instances: [] };
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
  return lines;
}
