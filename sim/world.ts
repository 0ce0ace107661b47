import { handler as commandResultHandler } from "../functions/command-result/handler.js";
import { handler as launchHandler } from "../functions/launch/handler.js";
import { handler as rebootstrapHandler } from "../functions/rebootstrap/handler.js";
import { handler as reconcileHandler } from "../functions/reconcile/handler.js";
import { handler as remediateHandler } from "../functions/remediate/handler.js";
import { RECONCILE_INTERVAL_MINUTES } from "../infra/constructs/launch-gate.js";
import { parseConfig } from "../shared/config/parse-config.js";
import {
  documentNameFor,
  RUNTIME_CONFIG_ENV,
  type RuntimeConfig,
  toRuntimeConfig,
} from "../shared/config/runtime-config.js";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import { alarmPattern, commandInvocationPattern, launchLifecyclePattern } from "../shared/events/patterns.js";
import { AwsRouter } from "./aws/route-clients.js";
import { Random } from "./engine/random.js";
import { VirtualClock } from "./engine/virtual-clock.js";
import { AutoScalingModel, type SimGroup, type SimInstance } from "./models/auto-scaling.js";
import { CloudWatchModel } from "./models/cloudwatch.js";
import { EventBridgeModel, LambdaModel, SqsModel } from "./models/delivery.js";
import { DynamoDbModel } from "./models/dynamodb.js";
import { Elbv2Model } from "./models/elbv2.js";
import { SsmModel } from "./models/ssm.js";
import type { GroupSpec, Scenario } from "./scenario.js";
import {
  createContext,
  HEALTHY_INSTANCE,
  type InstanceBehaviour,
  type WorldContext,
} from "./world-context.js";

/**
 * SIMULATION — the whole simulated AWS world for one scenario, driving the real, unmodified Lambda
 * handlers (functions/*\/handler.ts with their production wiring) through modelled services.
 */

/** 2026-11-28T08:00:00Z: a fixed start, so runs are reproducible. */
const START = Date.UTC(2026, 10, 28, 8, 0, 0);
const QUEUES = {
  launch: "https://sqs.eu-west-2.amazonaws.com/123456789012/launch-rechecks",
  result: "https://sqs.eu-west-2.amazonaws.com/123456789012/result-rechecks",
  operations: "https://sqs.eu-west-2.amazonaws.com/123456789012/operation-rechecks",
};

export class World {
  readonly startedAt = START;
  readonly context: WorldContext;
  readonly config: LaunchgateConfig;
  readonly runtime: RuntimeConfig;
  readonly asg: AutoScalingModel;
  readonly ssm: SsmModel;
  readonly elb: Elbv2Model;
  readonly dynamodb = new DynamoDbModel();
  readonly lambda: LambdaModel;
  readonly events: EventBridgeModel;
  readonly sqs: SqsModel;
  readonly router: AwsRouter;
  readonly cloudwatch: CloudWatchModel;
  /** When each instance's app first started (its launch bootstrap succeeded). */
  private readonly appStartedAt = new Map<string, number>();
  /** Windows in which an app was down: restarted, or failed (a failure may be ended by a restart). */
  private readonly appDowntime = new Map<string, { from: number; to: number; restartFixes?: boolean }[]>();
  /** The fewest healthy targets seen per target group, when the scenario tracks capacity. */
  readonly minHealthy = new Map<string, number>();
  /** What operators' direct invocations returned (scenario actions), in order. */
  readonly operatorResults: { at: number; request: unknown; response: unknown }[] = [];

  constructor(readonly scenario: Scenario) {
    this.context = createContext(new VirtualClock(START), new Random(scenario.seed ?? 42));
    this.config = parseConfig({
      groups: scenario.groups.map((group) => ({
        name: group.name,
        targetGroups: [group.targetGroupName],
        ...(group.remediation ? { remediation: group.remediation } : {}),
      })),
    });
    this.runtime = toRuntimeConfig(this.config, {
      stateTableName: "launchgate-sim-state",
      operationsTableName: "launchgate-sim-operations",
      recheckQueueUrls: QUEUES,
    });

    const functions = new Map([
      ["launch", launchHandler as (event: unknown) => Promise<unknown>],
      ["command-result", commandResultHandler as (event: unknown) => Promise<unknown>],
      ["reconcile", reconcileHandler as (event: unknown) => Promise<unknown>],
      ["rebootstrap", rebootstrapHandler as (event: unknown) => Promise<unknown>],
      ["remediate", remediateHandler as (event: unknown) => Promise<unknown>],
    ]);
    this.lambda = new LambdaModel(this.context, functions, scenario.deliveryFaults ?? {});
    this.events = new EventBridgeModel(this.context, this.lambda, scenario.deliveryFaults ?? {});
    this.sqs = new SqsModel(this.context, this.lambda);
    this.elb = new Elbv2Model(this.context, (instance, at) => this.appHealthyAt(instance, at));
    const documents = new Map(
      this.config.groups.map((g) => [documentNameFor(this.config, g.name), g.bootstrapTimeoutSeconds]),
    );
    this.ssm = new SsmModel(
      this.context,
      {
        emit: (event) => this.events.put(event),
        appStarted: (instance) => this.appStarted(instance),
      },
      documents,
    );
    this.asg = new AutoScalingModel(
      this.context,
      {
        emit: (event) => this.events.put(event),
        instanceLaunched: (instance) => this.ssm.instanceLaunched(instance),
        instanceTerminated: (instance) => this.ssm.instanceTerminated(instance),
        registerWithGroupTargets: (instance) => {
          for (const arn of instance.group.targetGroupArns)
            this.elb.register(arn, instance, this.tgPort(arn), "Auto Scaling");
        },
        deregisterFromGroupTargets: (instance) => {
          for (const arn of instance.group.targetGroupArns)
            this.elb.deregister(arn, instance.id, "Auto Scaling");
        },
        healthyInAllTargetGroups: (instance) =>
          instance.group.targetGroupArns.every(
            (arn) => this.elb.healthOf(arn, instance.id).State === "healthy",
          ),
      },
      (group, index) => this.behaviourFor(group, index),
    );
    this.router = new AwsRouter(this, scenario.apiFaults ?? {});
    this.cloudwatch = new CloudWatchModel(
      this.context,
      (tgName) => this.unhealthyTargets(tgName),
      (event) => this.events.put(event),
    );

    // The stack's own patterns and queues route events to the functions.
    this.events.addRule(launchLifecyclePattern(this.config.groups), "launch");
    this.events.addRule(
      commandInvocationPattern(this.runtime.groups.map((group) => group.documentName)),
      "command-result",
    );
    const alarms = this.config.groups.flatMap((group) => group.remediation.alarms);
    if (alarms.length > 0) this.events.addRule(alarmPattern(alarms), "remediate");
    this.sqs.addQueue(QUEUES.launch, "launch");
    this.sqs.addQueue(QUEUES.result, "command-result");
    this.sqs.addQueue(QUEUES.operations, "rebootstrap");
    this.dynamodb.addTable(this.runtime.stateTableName, "instanceId");
    this.dynamodb.addTable(this.runtime.operationsTableName, "id");
    for (const spec of scenario.groups) this.addGroup(spec);
  }

  /** Runs the scenario to completion (or its time limit) with the real handlers. */
  async run(): Promise<void> {
    const realNow = Date.now;
    const previousRuntime = process.env[RUNTIME_CONFIG_ENV];
    process.env[RUNTIME_CONFIG_ENV] = JSON.stringify(this.runtime);
    Date.now = () => this.context.clock.now();
    this.router.install();
    try {
      for (const spec of this.scenario.groups) {
        this.context.clock.after((spec.scaleAtSeconds ?? 0) * 1000, () =>
          this.asg.setDesiredCapacity(spec.name, spec.scaleTo),
        );
      }
      this.scheduleReconciler();
      const limit = START + (this.scenario.limitSeconds ?? 3600) * 1000;
      this.cloudwatch.start(() => this.context.clock.now() < limit);
      for (const action of this.scenario.actions ?? []) {
        this.context.clock.after(action.atSeconds * 1000, () => {
          this.context.note("fault", action.describe);
          return action.run(this);
        });
      }
      await this.context.clock.run(START + (this.scenario.limitSeconds ?? 3600) * 1000, () =>
        this.trackCapacity(),
      );
    } finally {
      this.router.restore();
      Date.now = realNow;
      if (previousRuntime === undefined) delete process.env[RUNTIME_CONFIG_ENV];
      else process.env[RUNTIME_CONFIG_ENV] = previousRuntime;
    }
  }

  /** An operator's direct invocation (`aws lambda invoke`), as a scenario action makes it. */
  async invokeAsOperator(functionName: string, request: unknown): Promise<void> {
    const outcome = await this.lambda.invoke(functionName, request);
    const response = outcome.ok
      ? outcome.result
      : { errorType: outcome.error.name, errorMessage: outcome.error.message };
    this.operatorResults.push({ at: this.context.clock.now(), request, response });
    this.context.note("lambda", `operator invoked ${functionName}: ${JSON.stringify(request)}`);
  }

  /**
   * A launch starts the app for the first time: it answers after the instance's scripted delay. A
   * re-bootstrap restarts a serving app: it is down for `restartSeconds` from the command's end. Past
   * health checks keep their results: a restart adds a downtime window, it does not rewrite history.
   */
  private appStarted(instance: SimInstance): void {
    const now = this.context.clock.now();
    if (!this.appStartedAt.has(instance.id)) {
      this.appStartedAt.set(instance.id, now);
      return;
    }
    const windows = this.appDowntime.get(instance.id) ?? [];
    for (const window of windows) if (window.restartFixes && window.to > now) window.to = now;
    windows.push({ from: now, to: now + (this.scenario.restartSeconds ?? 5) * 1000 });
    this.appDowntime.set(instance.id, windows);
    this.context.note("ssm", `app restarted (down ${this.scenario.restartSeconds ?? 5} s)`, instance.id);
  }

  /**
   * The app on an instance stops answering (a scenario action). A restart ends it when `restartFixes`;
   * otherwise it lasts until `recoversAfterSeconds` (or for good).
   */
  failApp(instanceId: string, failure: { restartFixes: boolean; recoversAfterSeconds?: number }): void {
    const now = this.context.clock.now();
    const to =
      failure.recoversAfterSeconds === undefined
        ? Number.POSITIVE_INFINITY
        : now + failure.recoversAfterSeconds * 1000;
    const windows = this.appDowntime.get(instanceId) ?? [];
    windows.push({ from: now, to, restartFixes: failure.restartFixes });
    this.appDowntime.set(instanceId, windows);
    this.context.note(
      "fault",
      `app stops answering${failure.restartFixes ? " (a restart fixes it)" : " (a restart does not fix it)"}`,
      instanceId,
    );
  }

  /** The k-th instance that was serving before the scenario started. */
  servingInstance(k: number): SimInstance | undefined {
    return [...this.asg.instances.values()].filter((i) => i.launchIndex < 0)[k];
  }

  private unhealthyTargets(targetGroupName: string): number {
    const tg = [...this.elb.targetGroups.values()].find((candidate) => candidate.name === targetGroupName);
    if (!tg) return 0;
    return [...this.asg.instances.values()].filter(
      (i) => i.state === "InService" && this.elb.healthOf(tg.arn, i.id).State === "unhealthy",
    ).length;
  }

  private trackCapacity(): void {
    const from = this.scenario.trackCapacityFromSeconds;
    if (from === undefined || this.context.clock.now() < START + from * 1000) return;
    for (const tg of this.elb.targetGroups.values()) {
      const healthy = [...this.asg.instances.values()].filter(
        (i) => i.state === "InService" && this.elb.healthOf(tg.arn, i.id).State === "healthy",
      ).length;
      this.minHealthy.set(
        tg.name,
        Math.min(this.minHealthy.get(tg.name) ?? Number.POSITIVE_INFINITY, healthy),
      );
    }
  }

  /**
   * The stack's schedule rule, every RECONCILE_INTERVAL_MINUTES. It stops once the world is quiet
   * (nothing pending, nothing waiting at a hook), or the run would never end.
   */
  private scheduleReconciler(): void {
    const interval = RECONCILE_INTERVAL_MINUTES * 60_000;
    const tick = async () => {
      await this.lambda.invoke("reconcile", {
        source: "aws.events",
        "detail-type": "Scheduled Event",
        detail: {},
      });
      const waiting = [...this.asg.instances.values()].some((i) => i.state.endsWith("Pending:Wait"));
      if (waiting || this.context.clock.pending() > 0) this.context.clock.after(interval, tick);
    };
    this.context.clock.after(interval, tick);
  }

  private addGroup(spec: GroupSpec): void {
    const tgArn = `arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/${spec.targetGroupName}/${this.context.random.hex(16)}`;
    const lbArn = `arn:aws:elasticloadbalancing:eu-west-2:123456789012:loadbalancer/app/${spec.name}-alb/${this.context.random.hex(16)}`;
    const check = spec.healthCheck ?? { intervalSeconds: 30, healthyThreshold: 5, unhealthyThreshold: 2 };
    this.elb.addLoadBalancer({
      arn: lbArn,
      name: `${spec.name}-alb`,
      zones: spec.loadBalancerZones ?? ["eu-west-2a", "eu-west-2b", "eu-west-2c"],
    });
    this.elb.addTargetGroup({
      arn: tgArn,
      name: spec.targetGroupName,
      port: 8000,
      ...check,
      loadBalancerArns: [lbArn],
    });
    for (const alarm of spec.remediation?.alarms ?? []) {
      this.cloudwatch.addAlarm({
        name: alarm,
        targetGroupName: spec.targetGroupName,
        targetGroupDimension: tgArn.split(":").at(-1) ?? "",
        datapoints: 2,
      });
    }
    const groupConfig = this.config.groups.find((group) => group.name === spec.name);
    const group: SimGroup = {
      name: spec.name,
      hookName: groupConfig?.hookName ?? "launchgate-launch",
      heartbeatTimeoutSeconds: groupConfig?.heartbeatTimeoutSeconds ?? 600,
      targetGroupArns: [tgArn],
      desired: spec.servingAtStart,
      maxLaunches: spec.maxLaunches ?? spec.scaleTo - spec.servingAtStart + 3,
      launches: 0,
    };
    this.asg.addGroup(group);
    for (let n = 0; n < spec.servingAtStart; n++) {
      const instance = this.asg.addServingInstance(group, HEALTHY_INSTANCE);
      this.ssm.instanceServing(instance);
      this.appStartedAt.set(instance.id, START - 3_600_000);
      this.elb.seedRegistered(tgArn, instance);
    }
  }

  private behaviourFor(group: SimGroup, index: number): InstanceBehaviour {
    const spec = this.scenario.groups.find((candidate) => candidate.name === group.name);
    const zones = ["eu-west-2a", "eu-west-2b", "eu-west-2c"];
    return {
      ...HEALTHY_INSTANCE,
      zone: zones[index % zones.length] ?? "eu-west-2a",
      ...spec?.behaviour?.(index),
    };
  }

  private appHealthyAt(instance: SimInstance, at: number): boolean {
    const started = this.appStartedAt.get(instance.id);
    const after = instance.behaviour.appHealthyAfterSeconds;
    if (started === undefined || after === null || instance.state.startsWith("Terminat")) return false;
    if ((this.appDowntime.get(instance.id) ?? []).some((w) => at >= w.from && at < w.to)) return false;
    return at >= started + after * 1000;
  }

  private tgPort(arn: string): number {
    return this.elb.targetGroups.get(arn)?.port ?? 80;
  }
}
