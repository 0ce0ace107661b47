import { ArnFormat, Stack } from "aws-cdk-lib";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as sqs from "aws-cdk-lib/aws-sqs";
import type { Construct } from "constructs";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import { WATCH_KEY_PREFIX } from "../../shared/gate/watch/watch.js";

/** The key of a launch wait's record in the state table: the instance's id. */
const WAIT_RECORD_KEY = "i-*";
/** The keys of the state table's records a function may put: instances' (`i-…`) and drains'. */
const GATE_RECORD_KEYS = [WAIT_RECORD_KEY, "drain#i-*"];

import { groupArn, ssmDocumentArn, targetGroupArnPattern } from "./arns.js";

/**
 * The permissions a launchgate function may be given, one method each, scoped to the configured
 * groups, target groups, documents, tables and queues (docs/aws-facts.md, IAM scoping). The stack
 * grants each function exactly the ones its code calls; the simulated world enforces the result.
 */
export class GateGrants {
  constructor(
    private readonly scope: Construct,
    private readonly config: LaunchgateConfig,
    private readonly resources: {
      readonly stateTable: dynamodb.ITableV2;
      readonly operationsTable: dynamodb.ITableV2;
      readonly documentNames: readonly string[];
      /** Exact ARNs of target groups the app defines, by name; any other is scoped by its name. */
      readonly targetGroupArns?: ReadonlyMap<string, string>;
    },
  ) {}

  /**
   * Reads the gate records; `write` also saves them (conditional puts) — only under an instance's key
   * or a drain's (`drain#…`), never a watch's item; `notes` notes heartbeats on launch waits' records (a
   * conditional update of one attribute: the reconciler's, and those of the steps a watch runs) — only
   * under an instance's key; `batch` reads many at once.
   */
  gateState(
    role: iam.IRole,
    access: { readonly write: boolean; readonly notes?: boolean; readonly batch?: boolean },
  ): void {
    const actions = ["dynamodb:GetItem"];
    if (access.batch) actions.push("dynamodb:BatchGetItem");
    this.allow(role, "GateState", actions, [this.resources.stateTable.tableArn]);
    if (!access.write) return;
    const table = [this.resources.stateTable.tableArn];
    this.allow(role, "GateStateWrites", ["dynamodb:PutItem"], table, onlyKeys(GATE_RECORD_KEYS));
    if (!access.notes) return;
    // Notes go on launch waits' records only (keep-alive.ts), never a drain's.
    this.allow(role, "GateHeartbeatNotes", ["dynamodb:UpdateItem"], table, onlyKeys([WAIT_RECORD_KEY]));
  }

  /**
   * Joins, runs and hands on the groups' watches (gate/watch): items of the state table (`watch#…`, as
   * the drains' are `drain#…`) updated in place, so that joins never conflict — only those items: this
   * grant never reaches a gate record (docs/aws-facts.md, IAM scoping).
   */
  watches(role: iam.IRole): void {
    const table = [this.resources.stateTable.tableArn];
    this.allow(role, "Watches", ["dynamodb:UpdateItem"], table, onlyKeys([`${WATCH_KEY_PREFIX}*`]));
  }

  /** Operations, per-instance locks and remediation history; `readOnly` for callers that only look. */
  operations(role: iam.IRole, access: "read" | "create" | "run"): void {
    const actions =
      access === "read"
        ? ["dynamodb:GetItem"]
        : access === "create"
          ? ["dynamodb:GetItem", "dynamodb:PutItem"]
          : ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"];
    this.allow(role, "Operations", actions, [this.resources.operationsTable.tableArn]);
  }

  /** Schedules re-checks on these queues. */
  rechecks(role: iam.IRole, ...queues: sqs.IQueue[]): void {
    for (const queue of queues) queue.grantSendMessages(role);
  }

  /** Completes (and heartbeats) the launch hooks of the gated groups. */
  completeHooks(role: iam.IRole): void {
    this.allow(
      role,
      "CompleteOwnHooks",
      ["autoscaling:CompleteLifecycleAction", "autoscaling:RecordLifecycleActionHeartbeat"],
      this.groupArns(),
    );
  }

  /** Only keeps a hook waiting (an operator resuming a wait no event announced); never decides it. */
  heartbeatHooks(role: iam.IRole): void {
    this.allow(role, "HeartbeatOwnHooks", ["autoscaling:RecordLifecycleActionHeartbeat"], this.groupArns());
  }

  registerTargets(role: iam.IRole): void {
    this.allow(
      role,
      "RegisterWithAllowedTargetGroups",
      ["elasticloadbalancing:RegisterTargets"],
      this.targetGroupArns(),
    );
  }

  /** Removes what the gate registered, before an ABANDON or when an instance leaves. */
  deregisterTargets(role: iam.IRole): void {
    this.allow(
      role,
      "DeregisterFromAllowedTargetGroups",
      ["elasticloadbalancing:DeregisterTargets"],
      this.targetGroupArns(),
    );
  }

  /** Surge: one more instance while the last ones are worked on, then back (re-bootstrap operations). */
  setDesiredCapacity(role: iam.IRole): void {
    this.allow(role, "SurgeOwnGroups", ["autoscaling:SetDesiredCapacity"], this.groupArns());
  }

  /** Read-only APIs that support no resource-level permissions: granted on "*", only those named. */
  describe(role: iam.IRole, actions: readonly DescribeAction[]): void {
    this.allow(role, "ReadOnlyDescribe", [...actions], ["*"]);
  }

  /** SendCommand: our documents only, and only on instances tagged with a gated group's name. */
  sendCommand(role: iam.IRole): void {
    const stack = Stack.of(this.scope);
    this.allow(
      role,
      "SendOwnDocument",
      ["ssm:SendCommand"],
      this.resources.documentNames.map((name) => ssmDocumentArn(this.scope, name)),
    );
    this.allow(
      role,
      "SendToGatedInstances",
      ["ssm:SendCommand"],
      [stack.formatArn({ service: "ec2", resource: "instance", resourceName: "*" })],
      {
        StringEquals: {
          "ssm:resourceTag/aws:autoscaling:groupName": this.config.groups.map((group) => group.name),
        },
      },
    );
  }

  /** Remediation re-reads its alarms before every action. */
  readAlarms(role: iam.IRole, alarmNames: readonly string[]): void {
    const stack = Stack.of(this.scope);
    this.allow(
      role,
      "ReadConfiguredAlarms",
      ["cloudwatch:DescribeAlarms"],
      alarmNames.map((name) =>
        stack.formatArn({
          service: "cloudwatch",
          resource: "alarm",
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    );
  }

  /** Remediation's last rung: mark an instance of a remediated group Unhealthy. */
  replaceInstances(role: iam.IRole): void {
    this.allow(
      role,
      "ReplaceInstancesOfRemediatedGroups",
      ["autoscaling:SetInstanceHealth"],
      this.config.groups
        .filter((g) => g.remediation.alarms.length > 0)
        .map((g) => groupArn(this.scope, g.name)),
    );
  }

  private allow(
    role: iam.IRole,
    sid: string,
    actions: string[],
    resources: string[],
    conditions?: Record<string, unknown>,
  ): void {
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ sid, actions, resources, ...(conditions ? { conditions } : {}) }),
    );
  }

  private groupArns(): string[] {
    return this.config.groups.map((group) => groupArn(this.scope, group.name));
  }

  private targetGroupArns(): string[] {
    const names = new Set(this.config.groups.flatMap((group) => group.targetGroups));
    return [...names].map(
      (name) => this.resources.targetGroupArns?.get(name) ?? targetGroupArnPattern(this.scope, name),
    );
  }
}

export type DescribeAction =
  | "autoscaling:DescribeAutoScalingInstances"
  | "autoscaling:DescribeAutoScalingGroups"
  | "autoscaling:DescribeWarmPool"
  | "ssm:DescribeInstanceInformation"
  | "ssm:GetCommandInvocation"
  | "ssm:ListCommands"
  | "elasticloadbalancing:DescribeTargetHealth"
  | "elasticloadbalancing:DescribeTargetGroups"
  | "elasticloadbalancing:DescribeLoadBalancers";

/** A DynamoDB grant limited to items whose partition key matches one of `keys` (LeadingKeys). */
function onlyKeys(keys: readonly string[]): Record<string, unknown> {
  return { "ForAllValues:StringLike": { "dynamodb:LeadingKeys": [...keys] } };
}
