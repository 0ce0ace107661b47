import { CfnOutput, Duration, RemovalPolicy, Stack } from "aws-cdk-lib";
import * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import * as logs from "aws-cdk-lib/aws-logs";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { ConfigError } from "../../shared/config/parse-config.js";
import {
  commandLogGroupNameFor,
  RUNTIME_CONFIG_ENV,
  toRuntimeConfig,
} from "../../shared/config/runtime-config.js";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import {
  alarmPattern,
  commandInvocationPattern,
  type EventPattern,
  launchLifecyclePattern,
  terminateLifecyclePattern,
} from "../../shared/events/patterns.js";
import { RECONCILE_INTERVAL_SECONDS } from "../../shared/gate/heartbeat-timing.js";
import { addDeployLimitValidation } from "./deploy-limits.js";
import { warnShortDeregistrationDelays } from "./drain-limits.js";
import { bundledCode, type FunctionCode } from "./function-code.js";
import { GateFunction } from "./gate-function.js";
import { GateGrants } from "./gate-grants.js";
import { type LaunchGateConfigInput, resolveGateInputs } from "./gate-inputs.js";
import { GatedGroup } from "./gated-group.js";
import { GateObservability } from "./observability/gate-observability.js";
import { retentionDays } from "./retention.js";

export interface LaunchGateProps {
  /**
   * What to gate and how: the fields of `launchgate.config.json`, validated at synth with the same
   * per-field messages. A group's `name` may be the app's own Auto Scaling group and a `targetGroups`
   * entry its own target group; `region` and `stackName` default to the enclosing stack's.
   */
  readonly config: LaunchGateConfigInput | LaunchgateConfig;
  /** @default the prebuilt bundles shipped with launchgate (the simulated world passes stand-ins) */
  readonly code?: FunctionCode;
  /**
   * Groups (by name) the app created with launchgate's launch hook already inside them (the reference
   * environment does): the gate adds no hook of its own to them.
   */
  readonly hooksInsideGroups?: readonly string[];
}

/**
 * Function timeout: one short step per invocation (waits go through the re-check queues); 30 s leaves
 * room for the SDK's retries. Queue visibility is 6 × this (Lambda's guidance), 180 s: short enough that
 * a crashed re-check returns well within the default 600 s heartbeat.
 */
const FUNCTION_TIMEOUT = Duration.seconds(30);

/**
 * How often the reconciler runs: the gate's heartbeat timing counts on it, so it is defined there
 * (shared/gate/heartbeat-timing.ts). It is the safety net for a wait whose event or chain failed, and it
 * must get several chances before a hook times out: with the default 600 s heartbeat timeout, the hook is
 * heartbeated once 200 s old, and a run every 2 minutes can miss two runs and still heartbeat a wait
 * whose chain died in time. A run costs one DescribeAutoScalingGroups and one batched read per group
 * when nothing waits.
 */
export const RECONCILE_INTERVAL_MINUTES = RECONCILE_INTERVAL_SECONDS / 60;

/**
 * The launch gate for every configured Auto Scaling group: hooks and documents per group, the state
 * table, the re-check queues, the two functions, the EventBridge rules, and least-privilege IAM
 * scoped to the configured groups, target groups and documents.
 */
export class LaunchGate extends Construct {
  readonly launchFunction: GateFunction;
  readonly resultFunction: GateFunction;
  readonly reconcileFunction: GateFunction;
  readonly rebootstrapFunction: GateFunction;
  readonly operationsFunction: GateFunction;
  /** Present when some group names alarms to remediate. */
  readonly remediateFunction?: GateFunction;
  readonly stateTable: dynamodb.TableV2;
  readonly operationsTable: dynamodb.TableV2;
  readonly failureQueue: sqs.Queue;
  /** Every bootstrap command's full output (SSM keeps only its first 24,000/8,000 characters). */
  readonly commandOutput: logs.LogGroup;
  readonly groups: GatedGroup[];
  /** The dashboard, the alarms on the automation and their notification topic, saved log queries. */
  readonly observability: GateObservability;

  constructor(scope: Construct, id: string, props: LaunchGateProps) {
    super(scope, id);
    // One gate per stack: its outputs (which the CLI finds it by) have fixed names in the stack.
    const other = Stack.of(this)
      .node.findAll()
      .find((construct) => construct !== this && construct instanceof LaunchGate);
    if (other) {
      throw new ConfigError(
        [
          `one LaunchGate per stack: ${other.node.path} is already in stack ${Stack.of(this).stackName}; gate more groups with one LaunchGate (config.groups), or put this one in a stack of its own`,
        ],
        `props of ${this.node.path}`,
      );
    }
    // Validated as the standalone app validates its file; group and target group constructs become names.
    const inputs = resolveGateInputs(this, props.config);
    const { config } = inputs;
    addDeployLimitValidation(this, config); // document size, 4 KB of environment, name lengths: at synth
    this.groups = config.groups.map(
      (group) =>
        new GatedGroup(this, inputs.constructIdOf(group.name), {
          config,
          group,
          autoScalingGroup: inputs.autoScalingGroups.get(group.name),
          targetGroupArns: inputs.targetGroupArns,
          hookInsideGroup: props.hooksInsideGroups?.includes(group.name),
        }),
    );
    // A drain longer than a target group's deregistration delay: sessions are cut before it starts.
    warnShortDeregistrationDelays(this, config, inputs.targetGroups);

    this.failureQueue = this.queue("Failures", { retentionPeriod: Duration.days(14) });
    const launchRechecks = this.queue("LaunchRechecks", {
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: 5 },
    });
    const resultRechecks = this.queue("ResultRechecks", {
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: 5 },
    });
    const operationRechecks = this.queue("OperationRechecks", {
      deadLetterQueue: { queue: this.failureQueue, maxReceiveCount: 5 },
    });

    this.stateTable = new dynamodb.TableV2(this, "State", {
      partitionKey: { name: "instanceId", type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      // Operational state with a 14-day TTL: nothing to keep once the stack is gone.
      removalPolicy: RemovalPolicy.DESTROY,
    });

    this.operationsTable = new dynamodb.TableV2(this, "Operations", {
      partitionKey: { name: "id", type: dynamodb.AttributeType.STRING },
      billing: dynamodb.Billing.onDemand(),
      timeToLiveAttribute: "expiresAt",
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.DESTROY,
    });

    // The SSM agent on each instance writes here with the instance role (the user's: README lists the
    // permissions it needs); the functions only name the group in SendCommand, which needs no logs access.
    this.commandOutput = new logs.LogGroup(this, "CommandOutput", {
      logGroupName: commandLogGroupNameFor(config),
      retention: retentionDays(config.logRetentionDays),
      removalPolicy: RemovalPolicy.DESTROY,
    });

    const runtime = toRuntimeConfig(config, {
      commandOutputLogGroup: this.commandOutput.logGroupName,
      stateTableName: this.stateTable.tableName,
      operationsTableName: this.operationsTable.tableName,
      recheckQueueUrls: {
        launch: launchRechecks.queueUrl,
        result: resultRechecks.queueUrl,
        operations: operationRechecks.queueUrl,
      },
    });
    const common = {
      environment: { [RUNTIME_CONFIG_ENV]: Stack.of(this).toJsonString(runtime) },
      logRetention: retentionDays(config.logRetentionDays),
      failureQueue: this.failureQueue,
      timeout: FUNCTION_TIMEOUT,
      code: props.code ?? bundledCode,
    };
    this.launchFunction = new GateFunction(this, "Launch", {
      ...common,
      functionName: "launch",
      description:
        "launchgate: opens the gate on a launch lifecycle action, waits for the SSM agent, sends the bootstrap",
    });
    this.resultFunction = new GateFunction(this, "CommandResult", {
      ...common,
      functionName: "command-result",
      description:
        "launchgate: acts on the bootstrap's result, registers the instance, completes the hook once healthy",
    });

    this.reconcileFunction = new GateFunction(this, "Reconcile", {
      ...common,
      functionName: "reconcile",
      description: `launchgate: every ${RECONCILE_INTERVAL_MINUTES} minutes, drives every instance waiting at a gated hook to an outcome`,
      // One invocation walks every waiting instance of every group, within a time budget.
      timeout: Duration.minutes(5),
      // Runs never overlap: a scheduled run while the last one is still going is throttled, and Lambda
      // retries it until its short maximum age, then drops it (no retries, no failure destination: a
      // missed run is harmless, the next one comes minutes later).
      reservedConcurrentExecutions: 1,
      asyncInvocation: { retryAttempts: 0, maxEventAge: Duration.seconds(RECONCILE_INTERVAL_MINUTES * 60) },
    });
    this.rebootstrapFunction = new GateFunction(this, "Rebootstrap", {
      ...common,
      functionName: "rebootstrap",
      description:
        "launchgate: re-bootstraps serving instances on request, in waves (one at a time by default), each verified healthy",
      // A caller may wait for the operation (`wait`): up to Lambda's limit.
      timeout: Duration.minutes(15),
    });
    // The operations' steps run here, not in the re-bootstrap function: Lambda refuses an SQS event
    // source whose queue visibility (180 s) is shorter than the function timeout (15 min there).
    this.operationsFunction = new GateFunction(this, "OperationSteps", {
      ...common,
      functionName: "operations",
      description:
        "launchgate: runs the steps of re-bootstrap and remediation operations (command, health, next instance)",
    });
    new events.Rule(this, "ReconcileSchedule", {
      description: "launchgate: the reconciler's schedule",
      schedule: events.Schedule.rate(Duration.minutes(RECONCILE_INTERVAL_MINUTES)),
      targets: [new targets.LambdaFunction(this.reconcileFunction.function, { retryAttempts: 0 })],
    });

    const alarmNames = [...new Set(config.groups.flatMap((group) => group.remediation.alarms))];
    if (alarmNames.length > 0) {
      this.remediateFunction = new GateFunction(this, "Remediate", {
        ...common,
        functionName: "remediate",
        description:
          "launchgate: on a configured alarm, restarts (then replaces) the sick instances, within blast-radius limits",
      });
      this.rule(
        "AlarmRule",
        alarmPattern(alarmNames),
        this.remediateFunction,
        "configured alarms going to ALARM",
      );
    }

    this.observability = new GateObservability(this, "Observability", {
      config,
      functions: new Map(
        [
          ["launch", this.launchFunction],
          ["command-result", this.resultFunction],
          ["reconcile", this.reconcileFunction],
          ["rebootstrap", this.rebootstrapFunction],
          ["operations", this.operationsFunction],
          ["remediate", this.remediateFunction],
        ].filter((entry): entry is [string, GateFunction] => entry[1] !== undefined),
      ),
      failureQueue: this.failureQueue,
    });

    // What an operator (and the CLI) needs to find the gate's state and its dropped events, wherever the
    // construct is: under fixed names, which the CLI reads (and a second gate in one stack is refused).
    const output = (name: string, value: string, description: string) =>
      new CfnOutput(this, name, { value, description }).overrideLogicalId(name);
    output(
      "GateStateTable",
      this.stateTable.tableName,
      "One item per instance: phase, deadlines, outcome, reason and history of its launch gate",
    );
    output(
      "RebootstrapFunctionName",
      this.rebootstrapFunction.function.functionName,
      "Invoke to re-bootstrap an instance or a group (or use the launchgate CLI)",
    );
    output(
      "OperationsTable",
      this.operationsTable.tableName,
      "Re-bootstrap and remediation operations, and per-instance maintenance locks",
    );
    output(
      "FailureQueueUrl",
      this.failureQueue.queueUrl,
      "Events and re-checks that failed every retry; each one is a launch the gate could not drive",
    );

    this.grantWhatEachFunctionCalls(config, alarmNames, {
      launchRechecks,
      resultRechecks,
      operationRechecks,
    });

    // Polls are timed to a shared grid (shared/gate/keep-alive.ts) and a batch's waits share their reads
    // (shared/runtime/batch-scope.ts); a second of batching window lets re-checks due together, which SQS
    // makes visible within that second, arrive in one batch.
    const pollBatches = {
      batchSize: 10,
      maxBatchingWindow: Duration.seconds(1),
      reportBatchItemFailures: true,
    };
    this.launchFunction.function.addEventSource(new SqsEventSource(launchRechecks, pollBatches));
    this.resultFunction.function.addEventSource(new SqsEventSource(resultRechecks, pollBatches));
    // One operation per invocation: a pass over a wave takes up to 10 lane steps (shared/ops/wave-pass.ts),
    // and ten such passes in a row could outlast the function's timeout under throttling.
    this.operationsFunction.function.addEventSource(
      new SqsEventSource(operationRechecks, { batchSize: 1, reportBatchItemFailures: true }),
    );

    this.rule(
      "LaunchLifecycleRule",
      launchLifecyclePattern(config.groups),
      this.launchFunction,
      "launch lifecycle actions of the gated groups",
    );
    const drainPattern = terminateLifecyclePattern(runtime.groups);
    if (drainPattern) {
      // The launch function drains too: it already completes the groups' hooks and sends their
      // documents; a function of its own would repeat its whole wiring for two small steps.
      this.rule(
        "DrainLifecycleRule",
        drainPattern,
        this.launchFunction,
        "terminate lifecycle actions at the drain hooks (graceful drain on scale-in)",
      );
    }
    this.rule(
      "CommandResultRule",
      commandInvocationPattern(this.groups.map((group) => group.documentName)),
      this.resultFunction,
      "status changes of launchgate bootstrap commands",
    );
  }

  private queue(id: string, props: sqs.QueueProps): sqs.Queue {
    return new sqs.Queue(this, id, {
      encryption: sqs.QueueEncryption.SQS_MANAGED,
      enforceSSL: true,
      // Lambda's guidance: at least six times the function timeout, so a slow batch is not redelivered.
      visibilityTimeout: Duration.seconds(FUNCTION_TIMEOUT.toSeconds() * 6),
      ...props,
    });
  }

  private rule(id: string, pattern: EventPattern, target: GateFunction, what: string): void {
    new events.Rule(this, id, {
      description: `launchgate: ${what}`,
      eventPattern: {
        source: [...pattern.source],
        detailType: [...pattern["detail-type"]],
        detail: pattern.detail as Record<string, unknown>,
      },
      targets: [
        new targets.LambdaFunction(target.function, {
          deadLetterQueue: this.failureQueue,
          retryAttempts: 4,
          maxEventAge: Duration.hours(2),
        }),
      ],
    });
  }

  /**
   * Each function's role allows exactly what its code calls (traced from its handler; the simulated
   * world runs every scenario under these policies and fails on any denied call).
   */
  private grantWhatEachFunctionCalls(
    config: LaunchgateConfig,
    alarmNames: readonly string[],
    queues: { launchRechecks: sqs.IQueue; resultRechecks: sqs.IQueue; operationRechecks: sqs.IQueue },
  ): void {
    const grants = new GateGrants(this, config, {
      stateTable: this.stateTable,
      operationsTable: this.operationsTable,
      documentNames: this.groups.map((group) => group.documentName),
      targetGroupArns: new Map(this.groups.flatMap((group) => [...group.targetGroupArns])),
    });
    const { launchRechecks, resultRechecks, operationRechecks } = queues;

    // launch: open the gate, wait for the agent, send the bootstrap (or abandon), schedule the next check.
    const launch = this.launchFunction.role;
    grants.gateState(launch, { write: true, notes: true, batch: true });
    grants.watches(launch);
    grants.rechecks(launch, launchRechecks, resultRechecks);
    grants.completeHooks(launch);
    grants.deregisterTargets(launch);
    grants.sendCommand(launch);
    grants.describe(launch, [
      "autoscaling:DescribeAutoScalingInstances",
      "ssm:DescribeInstanceInformation",
      "ssm:ListCommands",
      // drain: follows the drain command (its own re-checks, not the command-result function).
      ...(config.groups.some((group) => group.drain) ? (["ssm:GetCommandInvocation"] as const) : []),
    ]);

    // command-result: the bootstrap's outcome, registration, the health gate, the hook's outcome.
    const result = this.resultFunction.role;
    grants.gateState(result, { write: true, notes: true, batch: true });
    grants.watches(result);
    grants.rechecks(result, resultRechecks);
    grants.completeHooks(result);
    grants.registerTargets(result);
    grants.deregisterTargets(result);
    grants.describe(result, [
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeAutoScalingGroups",
      "ssm:GetCommandInvocation",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeLoadBalancers",
    ]);

    // reconcile: every waiting instance: sight, adopt, heartbeat, kick any step, resume or decide at the deadline.
    const reconcile = this.reconcileFunction.role;
    grants.gateState(reconcile, { write: true, notes: true, batch: true });
    grants.rechecks(reconcile, launchRechecks, resultRechecks);
    grants.completeHooks(reconcile);
    grants.deregisterTargets(reconcile);
    grants.describe(reconcile, [
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeAutoScalingGroups",
      // A wait into a warm pool is listed by the pool, not the group (docs/aws-facts.md, warm pools).
      "autoscaling:DescribeWarmPool",
      "elasticloadbalancing:DescribeTargetHealth",
    ]);

    // rebootstrap: check a request, start an operation, or resume the launch gate of a waiting instance.
    const rebootstrap = this.rebootstrapFunction.role;
    grants.gateState(rebootstrap, { write: true });
    grants.operations(rebootstrap, "create");
    grants.rechecks(rebootstrap, operationRechecks, launchRechecks, resultRechecks);
    grants.heartbeatHooks(rebootstrap);
    grants.describe(rebootstrap, [
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeAutoScalingGroups",
      // Refusing, at the request, to drain the last healthy target of a target group.
      "elasticloadbalancing:DescribeTargetHealth",
    ]);

    // operations: each step of a re-bootstrap or remediation: lock, send, follow, verify, escalate.
    const operations = this.operationsFunction.role;
    grants.gateState(operations, { write: false });
    grants.operations(operations, "run");
    grants.rechecks(operations, operationRechecks);
    grants.sendCommand(operations);
    // Drain-first re-bootstrap: out of every target group before the command, back in after it.
    grants.deregisterTargets(operations);
    grants.registerTargets(operations);
    grants.setDesiredCapacity(operations);
    grants.describe(operations, [
      "autoscaling:DescribeAutoScalingInstances",
      "autoscaling:DescribeAutoScalingGroups",
      "ssm:GetCommandInvocation",
      "ssm:ListCommands", // a retried step adopts the command it already sent
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTargetGroups",
    ]);

    if (this.remediateFunction && alarmNames.length > 0) {
      grants.readAlarms(operations, alarmNames);
      grants.replaceInstances(operations);
      // remediate: decide on an alarm and start the operation; it acts on nothing itself.
      const remediate = this.remediateFunction.role;
      grants.gateState(remediate, { write: false });
      grants.operations(remediate, "create");
      grants.rechecks(remediate, operationRechecks);
      grants.describe(remediate, [
        "autoscaling:DescribeAutoScalingInstances",
        "autoscaling:DescribeAutoScalingGroups",
        "elasticloadbalancing:DescribeTargetHealth",
      ]);
    }
  }
}
