import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { EventPattern } from "../../shared/events/patterns.js";
import type { Random } from "../engine/random.js";
import { checkDeployable } from "./deploy-checks.js";
import { type PhysicalResource, resolveValue } from "./intrinsics.js";
import { createPhysical } from "./physical-resources.js";
import type { PolicyStatement } from "./policy.js";
import { SOURCE_MARKER } from "./simulated-code.js";
import type { SynthesizedStack } from "./synthesize.js";

/**
 * SIMULATION — the stack as `cdk deploy` would create it: every resource of the synthesized template
 * given a physical name, every intrinsic resolved, and the parts the world runs on read into typed
 * records. The world is built from this and from nothing else: a queue no function reads, a rule
 * without its target or permission, an environment variable the template lacks, a permission a
 * handler needs but its role lacks — each shows up as it would on AWS.
 */

export interface DeployedFunction {
  readonly logicalId: string;
  readonly name: string;
  readonly arn: string;
  /** Repository-relative source module the function's code was built from, and its export. */
  readonly sourceModule: string;
  readonly exportName: string;
  readonly timeoutSeconds: number;
  readonly memoryMb: number;
  readonly environment: Readonly<Record<string, string>>;
  readonly reservedConcurrency?: number;
  readonly roleArn: string;
  readonly policy: readonly PolicyStatement[];
  /** Asynchronous invocations (EventBridge): Lambda's own retries and where failures go. */
  readonly async: {
    readonly maxRetries: number;
    readonly maxEventAgeSeconds: number;
    readonly onFailureArn?: string;
  };
}

export interface DeployedQueue {
  readonly logicalId: string;
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  readonly visibilityTimeoutSeconds: number;
  readonly delaySeconds: number;
  readonly retentionSeconds: number;
  readonly redrive?: { readonly deadLetterArn: string; readonly maxReceiveCount: number };
  /** The queue's resource policy (who else, e.g. EventBridge for a dead-letter queue, may send). */
  readonly policy: readonly PolicyStatement[];
}

export interface DeployedMapping {
  readonly queueArn: string;
  readonly functionName: string;
  readonly batchSize: number;
  readonly batchingWindowSeconds: number;
  readonly reportBatchItemFailures: boolean;
  readonly maxConcurrency?: number;
  readonly enabled: boolean;
}

export interface DeployedRuleTarget {
  readonly arn: string;
  readonly input?: string;
  readonly retryAttempts: number;
  readonly maxEventAgeSeconds: number;
  readonly deadLetterArn?: string;
}

export interface DeployedRule {
  readonly name: string;
  readonly arn: string;
  readonly enabled: boolean;
  readonly pattern?: EventPattern;
  readonly rateSeconds?: number;
  readonly targets: readonly DeployedRuleTarget[];
}

export interface DeployedPermission {
  readonly functionRef: string;
  readonly action: string;
  readonly principal: string;
  readonly sourceArn?: string;
}

export interface DeployedTable {
  readonly name: string;
  readonly arn: string;
  readonly partitionKey: string;
}

export interface DeployedHook {
  readonly groupName: string;
  readonly hookName: string;
  readonly transition: string;
  readonly heartbeatTimeoutSeconds: number;
  readonly defaultResult: string;
}

export interface DeployedDocument {
  readonly name: string;
  readonly parameters: Readonly<
    Record<string, { readonly allowedValues?: readonly string[]; readonly allowedPattern?: string }>
  >;
  readonly executionTimeoutSeconds: number;
  readonly contentBytes: number;
}

export interface Deployment {
  readonly stackName: string;
  readonly functions: readonly DeployedFunction[];
  readonly queues: readonly DeployedQueue[];
  readonly mappings: readonly DeployedMapping[];
  readonly rules: readonly DeployedRule[];
  readonly permissions: readonly DeployedPermission[];
  readonly tables: readonly DeployedTable[];
  readonly hooks: readonly DeployedHook[];
  readonly documents: readonly DeployedDocument[];
  readonly outputs: Readonly<Record<string, string>>;
}

type Props = Record<string, unknown>;

/** "Deploys" the synthesized stack; throws DeployError where CloudFormation or Lambda would refuse it. */
export function deploy(stack: SynthesizedStack, random: Random): Deployment {
  const physical = new Map<string, PhysicalResource>();
  for (const [id, resource] of Object.entries(stack.template.Resources))
    physical.set(id, createPhysical(id, resource, stack.stackName, random));
  const lookup = (id: string) => {
    const found = physical.get(id);
    if (!found) throw new Error(`simulation: the template refers to ${id}, which it does not define`);
    return found;
  };
  const resources = Object.entries(stack.template.Resources).map(([id, resource]) => ({
    id,
    type: resource.Type,
    metadata: resource.Metadata ?? {},
    props: resolveValue(resource.Properties ?? {}, lookup, stack.stackName) as Props,
    physical: lookup(id),
  }));
  const ofType = (type: string) => resources.filter((r) => r.type === type);

  const statementsOfRole = (roleName: string): PolicyStatement[] =>
    ofType("AWS::IAM::Policy")
      .filter((p) => (p.props.Roles as string[] | undefined)?.includes(roleName))
      .flatMap((p) => (p.props.PolicyDocument as { Statement: PolicyStatement[] }).Statement);
  const roleByArn = new Map(ofType("AWS::IAM::Role").map((r) => [r.physical.attributes.Arn, r]));
  const invokeConfigs = ofType("AWS::Lambda::EventInvokeConfig");

  const functions: DeployedFunction[] = ofType("AWS::Lambda::Function").map((fn) => {
    const role = roleByArn.get(String(fn.props.Role));
    if (!role) throw new Error(`simulation: function ${fn.id} has a role the stack does not define`);
    if ((role.props.ManagedPolicyArns as unknown[] | undefined)?.length)
      throw new Error(`simulation: managed policies on ${role.id} are not modelled`);
    const inline = (
      (role.props.Policies as { PolicyDocument: { Statement: PolicyStatement[] } }[]) ?? []
    ).flatMap((p) => p.PolicyDocument.Statement);
    const config = invokeConfigs.find(
      (c) => c.props.FunctionName === fn.physical.ref || c.props.FunctionName === fn.physical.attributes.Arn,
    );
    const [, exportName = "handler"] = String(fn.props.Handler ?? "index.handler").split(".");
    const variables = ((fn.props.Environment as Props | undefined)?.Variables ?? {}) as Record<
      string,
      unknown
    >;
    return {
      logicalId: fn.id,
      name: fn.physical.ref,
      arn: fn.physical.attributes.Arn ?? "",
      sourceModule: sourceModuleOf(fn.id, fn.metadata, stack.assemblyDir),
      exportName,
      timeoutSeconds: Number(fn.props.Timeout ?? 3),
      memoryMb: Number(fn.props.MemorySize ?? 128),
      environment: Object.fromEntries(Object.entries(variables).map(([k, v]) => [k, String(v)])),
      reservedConcurrency:
        fn.props.ReservedConcurrentExecutions === undefined
          ? undefined
          : Number(fn.props.ReservedConcurrentExecutions),
      roleArn: String(fn.props.Role),
      policy: [...statementsOfRole(role.physical.ref), ...inline],
      async: {
        // Lambda's defaults without an EventInvokeConfig: 2 retries, 6 hours.
        maxRetries: Number(config?.props.MaximumRetryAttempts ?? 2),
        maxEventAgeSeconds: Number(config?.props.MaximumEventAgeInSeconds ?? 21600),
        onFailureArn: ((config?.props.DestinationConfig as Props | undefined)?.OnFailure as Props | undefined)
          ?.Destination as string | undefined,
      },
    };
  });

  const queues: DeployedQueue[] = ofType("AWS::SQS::Queue").map((q) => {
    const redrive = q.props.RedrivePolicy as
      | { deadLetterTargetArn: string; maxReceiveCount: number }
      | undefined;
    return {
      logicalId: q.id,
      name: q.physical.attributes.QueueName ?? "",
      url: q.physical.ref,
      arn: q.physical.attributes.Arn ?? "",
      visibilityTimeoutSeconds: Number(q.props.VisibilityTimeout ?? 30),
      delaySeconds: Number(q.props.DelaySeconds ?? 0),
      retentionSeconds: Number(q.props.MessageRetentionPeriod ?? 345600),
      redrive: redrive && {
        deadLetterArn: redrive.deadLetterTargetArn,
        maxReceiveCount: Number(redrive.maxReceiveCount),
      },
      policy: ofType("AWS::SQS::QueuePolicy")
        .filter((p) => (p.props.Queues as string[]).includes(q.physical.ref))
        .flatMap((p) => (p.props.PolicyDocument as { Statement: PolicyStatement[] }).Statement),
    };
  });

  const mappings: DeployedMapping[] = ofType("AWS::Lambda::EventSourceMapping").map((m) => ({
    queueArn: String(m.props.EventSourceArn),
    functionName: functionNameOf(String(m.props.FunctionName), functions),
    batchSize: Number(m.props.BatchSize ?? 10),
    batchingWindowSeconds: Number(m.props.MaximumBatchingWindowInSeconds ?? 0),
    reportBatchItemFailures: ((m.props.FunctionResponseTypes as string[]) ?? []).includes(
      "ReportBatchItemFailures",
    ),
    maxConcurrency: ((m.props.ScalingConfig as Props | undefined)?.MaximumConcurrency as number) ?? undefined,
    enabled: m.props.Enabled !== false,
  }));

  const rules: DeployedRule[] = ofType("AWS::Events::Rule").map((r) => ({
    name: r.physical.ref,
    arn: r.physical.attributes.Arn ?? "",
    enabled: r.props.State !== "DISABLED",
    pattern: r.props.EventPattern as EventPattern | undefined,
    rateSeconds: r.props.ScheduleExpression ? rateSeconds(String(r.props.ScheduleExpression)) : undefined,
    targets: ((r.props.Targets as Props[]) ?? []).map((t) => {
      const retry = (t.RetryPolicy ?? {}) as Props;
      return {
        arn: String(t.Arn),
        input: t.Input as string | undefined,
        // EventBridge's defaults: 185 attempts over 24 hours.
        retryAttempts: Number(retry.MaximumRetryAttempts ?? 185),
        maxEventAgeSeconds: Number(retry.MaximumEventAgeInSeconds ?? 86400),
        deadLetterArn: (t.DeadLetterConfig as Props | undefined)?.Arn as string | undefined,
      };
    }),
  }));

  const deployment: Deployment = {
    stackName: stack.stackName,
    functions,
    queues,
    mappings,
    rules,
    permissions: ofType("AWS::Lambda::Permission").map((p) => ({
      functionRef: String(p.props.FunctionName),
      action: String(p.props.Action),
      principal: String(p.props.Principal),
      sourceArn: p.props.SourceArn as string | undefined,
    })),
    tables: [...ofType("AWS::DynamoDB::GlobalTable"), ...ofType("AWS::DynamoDB::Table")].map((t) => ({
      name: t.physical.ref,
      arn: t.physical.attributes.Arn ?? "",
      partitionKey:
        (t.props.KeySchema as { AttributeName: string; KeyType: string }[]).find((k) => k.KeyType === "HASH")
          ?.AttributeName ?? "",
    })),
    hooks: ofType("AWS::AutoScaling::LifecycleHook").map((h) => ({
      groupName: String(h.props.AutoScalingGroupName),
      hookName: h.physical.ref,
      transition: String(h.props.LifecycleTransition),
      heartbeatTimeoutSeconds: Number(h.props.HeartbeatTimeout ?? 3600),
      defaultResult: String(h.props.DefaultResult ?? "ABANDON"),
    })),
    documents: ofType("AWS::SSM::Document").map((d) => documentOf(d.physical.ref, d.props.Content)),
    outputs: Object.fromEntries(
      Object.entries(stack.template.Outputs ?? {}).map(([name, output]) => [
        name,
        String(resolveValue(output.Value, lookup, stack.stackName)),
      ]),
    ),
  };
  checkDeployable(deployment);
  return deployment;
}

/** The function's code is the stand-in asset naming its source module (see simulated-code.ts). */
function sourceModuleOf(
  logicalId: string,
  metadata: Readonly<Record<string, unknown>>,
  assemblyDir: string,
): string {
  const assetPath = metadata["aws:asset:path"];
  if (typeof assetPath !== "string")
    throw new Error(
      `simulation: function ${logicalId} has no asset metadata (synthesize with asset metadata)`,
    );
  try {
    return (
      JSON.parse(readFileSync(join(assemblyDir, assetPath, SOURCE_MARKER), "utf8")) as { module: string }
    ).module;
  } catch {
    throw new Error(
      `simulation: function ${logicalId}'s code is not a simulated stand-in: synthesize with simulatedCode()`,
    );
  }
}

function functionNameOf(nameOrArn: string, functions: readonly DeployedFunction[]): string {
  const fn = functions.find((f) => f.name === nameOrArn || f.arn === nameOrArn);
  if (!fn) throw new Error(`simulation: event source mapping for unknown function ${nameOrArn}`);
  return fn.name;
}

function rateSeconds(expression: string): number {
  const match = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/.exec(expression);
  if (!match) throw new Error(`simulation: schedule ${expression} is not modelled (only rate(…))`);
  const unit = { minute: 60, minutes: 60, hour: 3600, hours: 3600, day: 86400, days: 86400 }[
    match[2] as "minute"
  ];
  return Number(match[1]) * unit;
}

function documentOf(name: string, content: unknown): DeployedDocument {
  const doc = (typeof content === "string" ? JSON.parse(content) : content) as {
    parameters?: Record<string, { allowedValues?: string[]; allowedPattern?: string }>;
    mainSteps?: { inputs?: { timeoutSeconds?: string | number } }[];
  };
  const timeouts = (doc.mainSteps ?? []).map((step) => Number(step.inputs?.timeoutSeconds ?? 3600));
  return {
    name,
    parameters: doc.parameters ?? {},
    executionTimeoutSeconds: timeouts.reduce((sum, t) => sum + t, 0),
    contentBytes: Buffer.byteLength(JSON.stringify(content)),
  };
}
