import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { unmarshall } from "@aws-sdk/util-dynamodb";
import { ROOT } from "../infra/constructs/function-code.js";
import { parseConfig } from "../shared/config/parse-config.js";
import { documentNameFor } from "../shared/config/runtime-config.js";
import type { LaunchgateConfig } from "../shared/config/schema.js";
import type { ResourceDirectory } from "./aws/authorization.js";
import {
  currentInvocation,
  installFunctionEnvironments,
  installFunctionOutput,
  installVirtualTimers,
} from "./aws/invocation.js";
import { AwsRouter } from "./aws/route-clients.js";
import { ChainAudit, waitRecords } from "./chain-audit.js";
import { type Deployment, deploy } from "./deploy/deployment.js";
import { SIM_ACCOUNT, SIM_REGION } from "./deploy/intrinsics.js";
import { synthesizeForSimulation } from "./deploy/synthesize.js";
import { Random } from "./engine/random.js";
import { VirtualClock } from "./engine/virtual-clock.js";
import { AutoScalingModel, type SimGroup, type SimInstance } from "./models/auto-scaling.js";
import { CloudWatchModel } from "./models/cloudwatch.js";
import { DynamoDbModel } from "./models/dynamodb.js";
import { Elbv2Model } from "./models/elbv2.js";
import { type EmittedMetric, metricsIn } from "./models/embedded-metrics.js";
import { EventBridgeModel } from "./models/eventbridge.js";
import { type LambdaHandler, LambdaModel, type LoadedFunction } from "./models/lambda.js";
import { SqsModel } from "./models/sqs.js";
import { SsmModel } from "./models/ssm.js";
import type { GroupSpec, Scenario, TargetGroupSpec } from "./scenario.js";
import { createContext, type InstanceBehaviour, type WorldContext } from "./world-context.js";

/**
 * SIMULATION — the whole simulated AWS world for one scenario. The scenario's config is synthesized
 * exactly as `npm run synth` does and "deployed" (sim/deploy): the functions, their environments,
 * roles, timeouts and concurrency, the rules and their targets, the queues and the event-source
 * mappings, the tables, the hooks and the documents all come from that template. The real, unmodified
 * handlers (functions/<name>/handler.ts) run inside it; nothing here restates the stack's wiring.
 */

/** 2026-11-28T08:00:00Z: a fixed start, so runs are reproducible. */
const START = Date.UTC(2026, 10, 28, 8, 0, 0);

export class World {
  readonly startedAt = START;
  readonly context: WorldContext;
  readonly asg: AutoScalingModel;
  readonly ssm: SsmModel;
  readonly elb: Elbv2Model;
  readonly dynamodb = new DynamoDbModel();
  readonly lambda: LambdaModel;
  readonly events: EventBridgeModel;
  readonly sqs: SqsModel;
  /** The re-check chains, audited as the world runs (sim/chain-audit.ts). */
  private readonly chains: ChainAudit;
  readonly router: AwsRouter;
  readonly cloudwatch: CloudWatchModel;
  readonly directory: ResourceDirectory;
  /** When each instance's app first started (its launch bootstrap succeeded). */
  private readonly appStartedAt = new Map<string, number>();
  /** Windows in which an app was down: restarted, or failed (a failure may be ended by a restart). */
  private readonly appDowntime = new Map<string, { from: number; to: number; restartFixes?: boolean }[]>();
  /** Instance alarms whose metric currently breaches. */
  private readonly breachingAlarms = new Set<string>();
  /** Launch bootstrap commands accepted, by comment (one per wait). */
  private readonly launchSends = new Map<string, number>();
  /** Abandon decisions seen (instance/token), each judged once, when first saved. */
  private readonly abandonDecisions = new Set<string>();
  /** Instances the gate decided to abandon while every target group had reported them healthy for 10 s. */
  private readonly healthyWhenAbandoned = new Set<string>();
  /** The fewest healthy targets seen per target group, when the scenario tracks capacity. */
  readonly minHealthy = new Map<string, number>();
  /** What operators' direct invocations returned (scenario actions), in order. */
  readonly operatorResults: { at: number; request: unknown; response: unknown }[] = [];
  /** The functions' embedded metrics, as CloudWatch would extract them from their logs. */
  readonly metrics: EmittedMetric[] = [];

  /** Synthesizes and deploys the scenario's config, loads the deployed functions' code, builds the world. */
  static async create(scenario: Scenario): Promise<World> {
    const config = configFor(scenario);
    const random = new Random(scenario.seed ?? 42);
    const deployment = deploy(synthesizeForSimulation(config), random);
    const functions = new Map<string, LoadedFunction>();
    for (const fn of deployment.functions) {
      const module = (await import(pathToFileURL(join(ROOT, fn.sourceModule)).href)) as Record<
        string,
        unknown
      >;
      const handler = module[fn.exportName];
      if (typeof handler !== "function")
        throw new Error(`simulation: ${fn.sourceModule} exports no function ${fn.exportName}`);
      const folder = fn.sourceModule.split("/").at(-2) ?? fn.name;
      functions.set(fn.name, { deployed: fn, handler: handler as LambdaHandler, folder });
    }
    return new World(scenario, config, deployment, functions, random);
  }

  private constructor(
    readonly scenario: Scenario,
    readonly config: LaunchgateConfig,
    readonly deployment: Deployment,
    functions: ReadonlyMap<string, LoadedFunction>,
    random: Random,
  ) {
    this.context = createContext(new VirtualClock(START), random);
    const faults = scenario.deliveryFaults ?? {};
    this.lambda = new LambdaModel(this.context, functions, faults, (arn, body) =>
      this.sqs.sendAsLambda(arn, body),
    );
    this.sqs = new SqsModel(this.context, deployment.queues, deployment.mappings, this.lambda);
    this.chains = new ChainAudit((what) => this.context.violation(what));
    this.sqs.onSend = (body, queued) => {
      if (currentInvocation()?.fn.sourceModule.startsWith("functions/reconcile/"))
        this.chains.restarted(body, queued, this.storedPhase(body));
    };
    this.sqs.onDeadLetter = (body) => this.chains.deadLetter(body);
    this.events = new EventBridgeModel(
      this.context,
      deployment.rules,
      deployment.permissions,
      this.lambda,
      this.sqs,
      faults,
    );
    this.elb = new Elbv2Model(this.context, (instance, at) => this.appHealthyAt(instance, at));
    this.elb.onDeregister = (tgArn, instanceId) => this.checkDrain(tgArn, instanceId);
    // The gate decides to abandon when it saves the claim (phase "abandoned"): judge that moment, not
    // the deregistration, which throttling can delay by many seconds while health moves on.
    this.dynamodb.onPut = (tableName, item) => {
      if (tableName !== this.deployment.outputs.GateStateTable || item.phase?.S !== "abandoned") return;
      const decision = `${item.instanceId?.S}/${item.token?.S}`;
      if (this.abandonDecisions.has(decision)) return; // a later save of the same decision
      this.abandonDecisions.add(decision);
      const instance = this.asg.instances.get(item.instanceId?.S ?? "");
      if (instance && this.healthyForTheLast10Seconds(instance)) this.healthyWhenAbandoned.add(instance.id);
    };
    this.ssm = new SsmModel(
      this.context,
      {
        emit: (event) => this.events.put(event),
        appStarted: (instance) => this.appStarted(instance),
        commandSent: (instance, comment, documentName) => this.checkCommand(instance, comment, documentName),
      },
      new Map(deployment.documents.map((d) => [d.name, d])),
      scenario.documentVersions,
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
        deregistrationDelaySeconds: (instance) =>
          Math.max(
            0,
            ...instance.group.targetGroupArns.map(
              (arn) => this.elb.targetGroups.get(arn)?.deregistrationDelaySeconds ?? 0,
            ),
          ),
        healthyInAllTargetGroups: (instance) =>
          instance.group.targetGroupArns.every(
            (arn) => this.elb.healthOf(arn, instance.id).State === "healthy",
          ),
        abandoned: (instance) => {
          if (this.healthyWhenAbandoned.has(instance.id))
            this.context.violation(
              `${instance.id} was abandoned although healthy in every target group for the 10 s before the decision`,
            );
        },
      },
      (group, index) => this.behaviourFor(group, index),
    );
    this.directory = {
      groupArn: (name) =>
        this.asg.groups.get(name)?.arn ??
        `arn:aws:autoscaling:${SIM_REGION}:${SIM_ACCOUNT}:autoScalingGroup:00000000-0000-0000-0000-000000000000:autoScalingGroupName/${name}`,
      groupOfInstance: (id) => this.asg.instances.get(id)?.group.name,
      queueArn: (url) =>
        this.sqs.arnOfUrl(url) ?? `arn:aws:sqs:${SIM_REGION}:${SIM_ACCOUNT}:${url.split("/").at(-1)}`,
      partitionKeyOf: (table) => deployment.tables.find((t) => t.name === table)?.partitionKey,
    };
    this.router = new AwsRouter(this, scenario.apiFaults ?? {});
    this.cloudwatch = new CloudWatchModel(
      this.context,
      (tgName) => this.unhealthyTargets(tgName),
      (event) => this.events.put(event),
    );
    for (const table of deployment.tables) this.dynamodb.addTable(table.name, table.partitionKey);
    for (const spec of scenario.groups) this.addGroup(spec);
    // The stack's terminate (drain) hooks hold leaving instances, as its launch hooks hold new ones.
    this.asg.useTerminateHooks(deployment.hooks);
  }

  /** A table the stack outputs name (GateStateTable, OperationsTable). */
  tableFromOutput(output: string): string {
    const name = this.deployment.outputs[output];
    if (!name) throw new Error(`simulation: the stack has no output ${output}`);
    return name;
  }

  /** Runs the scenario to completion (or its time limit) with the real handlers. */
  async run(): Promise<void> {
    const realNow = Date.now;
    Date.now = () => this.context.clock.now();
    const restoreEnvironment = installFunctionEnvironments(SIM_REGION);
    const restoreTimers = installVirtualTimers((ms, action) => this.context.clock.after(ms, action));
    // Each function by its folder (functions/<folder>/handler.ts), as the report names it.
    const restoreOutput = installFunctionOutput((fn, text) =>
      this.metrics.push(
        ...metricsIn(text, fn.sourceModule.split("/")[1] ?? fn.name, this.context.clock.now()),
      ),
    );
    this.router.install();
    try {
      for (const spec of this.scenario.groups) {
        this.context.clock.after((spec.scaleAtSeconds ?? 0) * 1000, () =>
          this.asg.setDesiredCapacity(spec.name, spec.scaleTo),
        );
      }
      const limit = START + (this.scenario.limitSeconds ?? 3600) * 1000;
      // The stack's schedules (the reconciler) run until the world is quiet: nothing waiting at a hook
      // and nothing else pending — or the run would never end.
      this.events.startSchedules(() => this.context.clock.now() < limit && this.busy());
      this.cloudwatch.start(() => this.context.clock.now() < limit && this.busy());
      for (const action of this.scenario.actions ?? []) {
        this.context.clock.after(action.atSeconds * 1000, () => {
          this.context.note("fault", action.describe);
          return action.run(this);
        });
      }
      await this.context.clock.run(limit, () => {
        this.trackCapacity();
        this.auditChains();
      });
    } finally {
      this.router.restore();
      restoreEnvironment();
      restoreTimers();
      restoreOutput();
      Date.now = realNow;
    }
  }

  /**
   * Something is still going on: an instance waits at a hook, an app is down, or work is queued. The
   * stack's schedules and the alarms run while it is; once the world is quiet the run ends.
   */
  private busy(): boolean {
    const now = this.context.clock.now();
    const waiting = [...this.asg.instances.values()].some((i) => i.state.endsWith("Pending:Wait"));
    const appDown = [...this.appDowntime.entries()].some(
      ([id, windows]) =>
        !this.asg.instances.get(id)?.state.startsWith("Terminat") && windows.some((w) => w.to > now),
    );
    return waiting || appDown || this.context.clock.pending() > 0;
  }

  /** An operator's direct invocation (`aws lambda invoke`) of the function deployed from functions/<folder>. */
  async invokeAsOperator(folder: string, request: unknown): Promise<void> {
    const outcome = await this.lambda.invoke(this.lambda.nameOf(folder), request);
    const response = outcome.ok
      ? outcome.result
      : { errorType: outcome.error.name, errorMessage: outcome.error.message };
    this.operatorResults.push({ at: this.context.clock.now(), request, response });
    this.context.note("lambda", `operator invoked ${folder}: ${JSON.stringify(request)}`);
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

  /**
   * Healthy for the last 10 s: observing and deciding take well under that, so whatever the gate
   * observed said healthy (a check passing between its observation and its decision is a race, not
   * a mistake).
   */
  private healthyForTheLast10Seconds(instance: SimInstance): boolean {
    const now = this.context.clock.now();
    return [0, 2, 4, 6, 8, 10].every((ago) =>
      instance.group.targetGroupArns.every(
        (arn) => this.elb.healthOf(arn, instance.id, now - ago * 1000).State === "healthy",
      ),
    );
  }

  /**
   * Invariants on every command accepted: an instance gets only its own group's document; a launch wait
   * is sent its bootstrap once (a second would run the install twice, after the first); and no
   * operation runs a command on the last healthy target of a target group unless forced.
   */
  private checkCommand(instance: SimInstance, comment: string, documentName: string): void {
    // IAM cannot pair a group's document with that group's instances (each resource of a SendCommand is
    // authorized on its own): the code must, and the world checks it.
    const own = documentNameFor(this.config, instance.group.name);
    if (documentName !== own)
      this.context.violation(
        `${instance.id} of ${instance.group.name} was sent ${documentName}, not its group's ${own}`,
      );
    if (comment.startsWith("launchgate launch ")) {
      const sends = (this.launchSends.get(comment) ?? 0) + 1;
      this.launchSends.set(comment, sends);
      if (sends > 1)
        this.context.violation(
          `${instance.id}: the bootstrap was sent ${sends} times for one wait (${comment})`,
        );
    }
    const operation = /^launchgate (remediate|rebootstrap) /.exec(comment)?.[1];
    if (!operation || this.forcedOperationOn(instance.group.name)) return;
    for (const arn of instance.group.targetGroupArns) {
      const healthy = this.healthyServing(arn);
      if (healthy.length === 1 && healthy[0] === instance.id)
        this.context.violation(
          `${operation} sent a command to ${instance.id}, the last healthy target of ${arn}`,
        );
    }
  }

  /** The items of the state table (gate records, and the watches' and drains' items). */
  private gateItems() {
    return this.dynamodb.items(this.tableFromOutput("GateStateTable"));
  }

  /** The phase of the gate record of the instance a message names, as stored now. */
  private storedPhase(body: string): string | undefined {
    const instanceId = /"instanceId":"(i-[0-9a-f]+)"/.exec(body)?.[1];
    return this.gateItems().find((item) => item.instanceId?.S === instanceId)?.phase?.S;
  }

  /** Every live wait has a re-check queued (sim/chain-audit.ts); looked at every few virtual seconds. */
  private auditChains(): void {
    const now = this.context.clock.now();
    if (!this.chains.due(now)) return;
    const records = waitRecords(this.gateItems(), this.startedAt);
    const json = (events: Iterable<unknown>) => [...events].map((event) => JSON.stringify(event));
    this.chains.check(now, records, this.sqs.readMessages(), {
      pending: json(this.lambda.pendingAsync),
      failed: json(this.lambda.failedAsync),
    });
  }

  /**
   * No operation leaves a target group with no healthy target when it had one, unless it was told to
   * (force): an operation's DeregisterTargets of the last healthy target breaks that.
   */
  private checkDrain(tgArn: string, instanceId: string): void {
    if (!currentInvocation()?.fn.sourceModule.startsWith("functions/operations/")) return;
    const healthy = this.healthyServing(tgArn);
    if (healthy.length !== 1 || healthy[0] !== instanceId) return;
    const group = this.asg.instances.get(instanceId)?.group.name ?? "";
    if (!this.forcedOperationOn(group))
      this.context.violation(`an operation drained ${instanceId}, the last healthy target of ${tgArn}`);
  }

  /** A running operation on the group that accepted downtime (force). */
  private forcedOperationOn(groupName: string): boolean {
    return this.dynamodb
      .items(this.tableFromOutput("OperationsTable"))
      .map((item) => unmarshall(item))
      .some(
        (op) =>
          String(op.id).startsWith("operation#") &&
          op.groupName === groupName &&
          op.status === "running" &&
          op.force === true,
      );
  }

  private healthyServing(tgArn: string): string[] {
    return [...this.asg.instances.values()]
      .filter((i) => i.state === "InService" && this.elb.healthOf(tgArn, i.id).State === "healthy")
      .map((i) => i.id);
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
      const healthy = this.healthyServing(tg.arn).length;
      this.minHealthy.set(
        tg.name,
        Math.min(this.minHealthy.get(tg.name) ?? Number.POSITIVE_INFINITY, healthy),
      );
    }
  }

  private addGroup(spec: GroupSpec): void {
    const random = this.context.random;
    const lbArn = `arn:aws:elasticloadbalancing:${SIM_REGION}:${SIM_ACCOUNT}:loadbalancer/app/${spec.name}-alb/${random.hex(16)}`;
    this.elb.addLoadBalancer({
      arn: lbArn,
      name: `${spec.name}-alb`,
      zones: spec.loadBalancerZones ?? ["eu-west-2a", "eu-west-2b", "eu-west-2c"],
    });
    const tgArns: string[] = [];
    for (const tgSpec of targetGroupsOf(spec)) {
      const arn = `arn:aws:elasticloadbalancing:${SIM_REGION}:${SIM_ACCOUNT}:targetgroup/${tgSpec.name}/${random.hex(16)}`;
      const check = tgSpec.healthCheck ?? { intervalSeconds: 30, healthyThreshold: 5, unhealthyThreshold: 2 };
      this.elb.addTargetGroup({
        arn,
        name: tgSpec.name,
        port: 8000,
        ...check,
        loadBalancerArns: [lbArn],
        deregistrationDelaySeconds: tgSpec.deregistrationDelaySeconds ?? 300,
      });
      tgArns.push(arn);
    }
    const hook = this.deployment.hooks.find(
      (h) => h.groupName === spec.name && h.transition === "autoscaling:EC2_INSTANCE_LAUNCHING",
    );
    const group: SimGroup = {
      name: spec.name,
      arn: `arn:aws:autoscaling:${SIM_REGION}:${SIM_ACCOUNT}:autoScalingGroup:${random.hex(8)}-${random.hex(4)}-${random.hex(4)}-${random.hex(4)}-${random.hex(12)}:autoScalingGroupName/${spec.name}`,
      hook: hook && {
        name: hook.hookName,
        heartbeatTimeoutSeconds: hook.heartbeatTimeoutSeconds,
        defaultResult: hook.defaultResult,
      },
      targetGroupArns: tgArns,
      desired: spec.servingAtStart,
      maxLaunches: spec.maxLaunches ?? spec.scaleTo - spec.servingAtStart + 3,
      launches: 0,
      ...(spec.warmPool ? { warmPool: spec.warmPool } : {}),
    };
    this.asg.addGroup(group);
    const serving: SimInstance[] = [];
    for (let n = 0; n < spec.servingAtStart; n++) {
      const instance = this.asg.addServingInstance(group, this.behaviourFor(group, -1 - n));
      this.ssm.instanceServing(instance);
      this.appStartedAt.set(instance.id, START - 3_600_000);
      for (const arn of tgArns) this.elb.seedRegistered(arn, instance);
      serving.push(instance);
    }
    const unhealthyHosts = {
      kind: "target-group" as const,
      targetGroupName: targetGroupsOf(spec)[0]?.name ?? "",
      dimension: tgArns[0]?.split(":").at(-1) ?? "",
    };
    for (const composite of spec.compositeAlarms ?? []) {
      for (const child of composite.of)
        this.cloudwatch.addAlarm({ name: child, datapoints: 2, source: unhealthyHosts });
      this.cloudwatch.addAlarm({
        name: composite.name,
        datapoints: 1,
        source: { kind: "composite", children: composite.of },
      });
    }
    for (const name of spec.remediation?.alarms ?? []) {
      if (spec.compositeAlarms?.some((composite) => composite.name === name)) continue;
      const onInstance = spec.instanceAlarms?.find((alarm) => alarm.name === name);
      const instance = onInstance && serving[onInstance.servingIndex];
      this.cloudwatch.addAlarm({
        name,
        datapoints: 2,
        source: instance
          ? { kind: "instance", instanceId: instance.id, breaching: () => this.breachingAlarms.has(name) }
          : unhealthyHosts,
      });
    }
  }

  /** An instance alarm's metric starts (or stops) breaching (a scenario action). */
  setAlarmBreaching(name: string, breaching: boolean): void {
    if (breaching) this.breachingAlarms.add(name);
    else this.breachingAlarms.delete(name);
  }

  /**
   * How launch `index` of a group behaves: timings nobody chose — drawn from distributions with the
   * world's seeded randomness — then whatever the scenario scripts for that launch.
   */
  private behaviourFor(group: SimGroup, index: number): InstanceBehaviour {
    const spec = this.scenario.groups.find((candidate) => candidate.name === group.name);
    const zones = ["eu-west-2a", "eu-west-2b", "eu-west-2c"];
    const random = this.context.random;
    return {
      zone: zones[((index % zones.length) + zones.length) % zones.length] ?? "eu-west-2a",
      // New agents register within seconds to a few minutes (docs/aws-facts.md, SSM Run Command).
      agentOnlineAfterSeconds: Math.round(random.logNormal(35, 0.5, 8, 400)),
      bootstrap: { outcome: "Success", seconds: Math.round(random.logNormal(170, 0.3, 60, 900)) },
      appHealthyAfterSeconds: Math.round(random.uniform(2, 25)),
      ...(index >= 0 ? spec?.behaviour?.(index, random) : {}),
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

function targetGroupsOf(spec: GroupSpec): readonly TargetGroupSpec[] {
  return spec.targetGroups ?? [{ name: spec.targetGroupName, healthCheck: spec.healthCheck }];
}

/** The launchgate config a scenario deploys: its groups, their target groups, their remediation. */
export function configFor(scenario: Scenario): LaunchgateConfig {
  return parseConfig({
    groups: scenario.groups.map((group) => ({
      name: group.name,
      targetGroups: targetGroupsOf(group).map((tg) => tg.name),
      ...group.timing,
      ...(group.remediation ? { remediation: group.remediation } : {}),
    })),
    ...(scenario.pollIntervalSeconds ? { pollIntervalSeconds: scenario.pollIntervalSeconds } : {}),
  });
}
