import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  DescribeWarmPoolCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetDesiredCapacityCommand,
  SetInstanceHealthCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { SendMessageBatchCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { SDK_RETRY } from "../../shared/aws/clients.js";
import { isAllowed } from "../deploy/policy.js";
import type { World } from "../world.js";
import { accessDeniedCode, accessRequests } from "./authorization.js";
import { currentInvocation } from "./invocation.js";
import { awsError, internalFailure, serviceUnavailable, throttling } from "./sdk-errors.js";

/**
 * SIMULATION — routes every AWS SDK call the real handlers make (on their module-scope clients) to the
 * world's models, counting each call per API and per instance, and injecting API faults. An API the
 * world does not model fails loudly instead of answering undefined.
 *
 * Each call is made as the function invocation it belongs to: it is checked against that function's
 * role policy from the template (a denied call fails as AWS fails it, and is recorded), it takes
 * virtual time (a few tens of milliseconds), and a call from an invocation Lambda already stopped at
 * its timeout never happens. Replacing `send` bypasses the SDK's own retries, so the router re-applies
 * them: up to SDK_RETRY.maxAttempts attempts for throttling and 5xx, with the SDK's exponential
 * backoff (base 500 ms for throttling, 100 ms otherwise, jittered, capped at 20 s) in virtual time.
 */

export interface ApiFaults {
  /**
   * Probability that one attempt of a call is throttled, by API name, by service ("Auto Scaling",
   * "SSM", "ELBv2", …), or for all ("*": all but SQS's, whose standard queues have no such quota);
   * the most specific key applies.
   */
  readonly throttleRate?: Readonly<Record<string, number>>;
  /** Probability that one attempt fails with a 5xx, for all APIs. */
  readonly transientRate?: number;
  /** Only inject API faults between these virtual offsets (seconds from the start). */
  readonly window?: { readonly fromSeconds: number; readonly toSeconds: number };
  /**
   * A service down for a while (whatever `window` says): every attempt of its calls between these
   * offsets fails with a 503, before the service did anything. Calls fail whole, as throttling drawn
   * per attempt hardly ever makes them (the SDK's retries get nearly every call through that).
   */
  readonly outages?: readonly ServiceOutage[];
}

export interface ServiceOutage {
  readonly service: string;
  readonly fromSeconds: number;
  readonly toSeconds: number;
}

/** The part of an SDK client's resolved config the router reads: how many attempts it makes. */
interface ClientWithRetries {
  readonly config?: { readonly maxAttempts?: () => Promise<number> };
}

export class AwsRouter {
  readonly calls = new Map<string, number>();
  readonly callsByInstance = new Map<string, Map<string, number>>();
  /** Every attempt's API and virtual time, in order, when asked for (the bench reads it; off otherwise). */
  callLog?: { at: number; api: string; fn: string }[];
  /** The service each routed API belongs to ("Auto Scaling", "SSM", …), by API name. */
  readonly serviceOf = new Map<string, string>();
  throttled = 0;
  transientFailures = 0;
  /** Every call IAM refused: "function: action on resource". */
  readonly denied: string[] = [];
  private readonly restores: (() => void)[] = [];

  constructor(
    private readonly world: World,
    private readonly faults: ApiFaults,
  ) {}

  install(): void {
    const { asg, ssm, elb, dynamodb, sqs, cloudwatch } = this.world;
    this.route(AutoScalingClient, "Auto Scaling", [
      [DescribeAutoScalingInstancesCommand, (input) => asg.describeAutoScalingInstances(input)],
      [DescribeAutoScalingGroupsCommand, (input) => asg.describeAutoScalingGroups(input)],
      [DescribeWarmPoolCommand, (input) => asg.describeWarmPool(input)],
      [CompleteLifecycleActionCommand, (input) => asg.completeLifecycleAction(input)],
      [RecordLifecycleActionHeartbeatCommand, (input) => asg.recordLifecycleActionHeartbeat(input)],
      [SetInstanceHealthCommand, (input) => asg.setInstanceHealth(input)],
      [SetDesiredCapacityCommand, (input) => asg.setDesiredCapacityApi(input)],
    ]);
    this.route(CloudWatchClient, "CloudWatch", [
      [DescribeAlarmsCommand, (input) => cloudwatch.describeAlarms(input)],
    ]);
    this.route(SSMClient, "SSM", [
      [DescribeInstanceInformationCommand, (input) => ssm.describeInstanceInformation(input)],
      [SendCommandCommand, (input) => ssm.sendCommand(input, asg.instances)],
      [GetCommandInvocationCommand, (input) => ssm.getCommandInvocation(input)],
      [ListCommandsCommand, (input) => ssm.listCommands(input)],
    ]);
    this.route(ElasticLoadBalancingV2Client, "ELBv2", [
      [DescribeTargetHealthCommand, (input) => elb.describeTargetHealth(input)],
      [DescribeTargetGroupsCommand, (input) => elb.describeTargetGroups(input)],
      [DescribeLoadBalancersCommand, (input) => elb.describeLoadBalancers(input)],
      [RegisterTargetsCommand, (input) => elb.registerTargets(input, asg.instances)],
      [DeregisterTargetsCommand, (input) => elb.deregisterTargets(input)],
    ]);
    this.route(DynamoDBClient, "DynamoDB", [
      [GetItemCommand, (input) => dynamodb.getItem(input)],
      [BatchGetItemCommand, (input) => dynamodb.batchGetItem(input)],
      [PutItemCommand, (input) => dynamodb.putItem(input)],
      [DeleteItemCommand, (input) => dynamodb.deleteItem(input)],
      [UpdateItemCommand, (input) => dynamodb.updateItem(input)],
    ]);
    this.route(SQSClient, "SQS", [
      [SendMessageCommand, (input) => sqs.sendMessage(input)],
      [SendMessageBatchCommand, (input) => sqs.sendMessageBatch(input)],
    ]);
  }

  /**
   * Replaces a client class's `send` with the routing table for as long as the world runs. Plain
   * functions rather than a mocking library: a run makes hundreds of thousands of calls, and a
   * library's call history would keep every one of them.
   */
  private route(
    clientClass: { prototype: { send: unknown } },
    service: string,
    // biome-ignore lint/suspicious/noExplicitAny: each route's input is its command's own input type
    routes: readonly (readonly [abstract new (...args: any[]) => object, (input: any) => unknown])[],
  ): void {
    const table = new Map(routes);
    for (const [command] of routes) this.serviceOf.set(command.name.replace(/Command$/, ""), service);
    const proto = clientClass.prototype as { send: (command: { input: object }) => Promise<unknown> };
    const original = proto.send;
    const router = this;
    proto.send = function send(this: ClientWithRetries, command: { input: object }) {
      const model = table.get(command.constructor as never);
      if (!model)
        return Promise.reject(new Error(`simulation: unmodeled ${service} API ${command.constructor.name}`));
      const api = command.constructor.name.replace(/Command$/, "");
      return router.call(api, command.input, () => model(command.input), this);
    };
    this.restores.push(() => {
      proto.send = original;
    });
  }
  restore(): void {
    for (const restore of this.restores) restore();
    this.restores.length = 0;
  }

  private async call<T>(api: string, input: object, model: () => T, client?: ClientWithRetries): Promise<T> {
    const maxAttempts = (await client?.config?.maxAttempts?.()) ?? SDK_RETRY.maxAttempts;
    const invocation = currentInvocation();
    if (!invocation) throw new Error(`simulation: ${api} called outside any function invocation`);
    const token = (input as { LifecycleActionToken?: string }).LifecycleActionToken;
    const instanceId =
      /i-0[0-9a-f]{16}/.exec(JSON.stringify(input))?.[0] ??
      (token && this.world.asg.instanceForToken(token)) ??
      "(none)";
    for (let attempt = 1; ; attempt++) {
      await this.world.context.clock.sleep(this.latencyMs());
      if (invocation.stopped) throw new Error("simulation: the invocation was stopped at its timeout");
      this.count(api, instanceId, invocation.fn.name);
      this.authorize(api, input as Record<string, unknown>, invocation.fn);
      const fault = this.fault(api);
      if (!fault) return model();
      // A server fault may come after the service did the work: the answer is lost, not the request.
      if (fault.name === "InternalFailure" && this.world.context.random.chance(0.5)) model();
      if (attempt >= maxAttempts) throw fault;
      const base = fault.name === "InternalFailure" ? 100 : 500;
      await this.world.context.clock.sleep(
        Math.floor(Math.min(20_000, this.world.context.random.next() * base * 2 ** attempt)),
      );
    }
  }

  private authorize(
    api: string,
    input: Record<string, unknown>,
    fn: { readonly name: string; readonly roleArn: string; readonly policy: Parameters<typeof isAllowed>[0] },
  ): void {
    for (const request of accessRequests(api, input, this.world.directory)) {
      if (isAllowed(fn.policy, request)) continue;
      const role = fn.roleArn.split("/").at(-1);
      this.denied.push(`${fn.name}: ${request.action} on ${request.resource}`);
      throw awsError(
        accessDeniedCode(api),
        `User: arn:aws:sts::123456789012:assumed-role/${role}/${fn.name} is not authorized to perform: ${request.action} on resource: ${request.resource} because no identity-based policy allows the ${request.action} action`,
        "client",
        403,
      );
    }
  }

  /** One request's round trip inside a region: tens of milliseconds. */
  private latencyMs(): number {
    return Math.round(this.world.context.random.logNormal(40, 0.5, 5, 2000));
  }

  private fault(api: string): Error | undefined {
    const { window } = this.faults;
    const elapsed = (this.world.context.clock.now() - this.world.startedAt) / 1000;
    const service = this.serviceOf.get(api) ?? "";
    const down = this.faults.outages?.some(
      (outage) => outage.service === service && elapsed >= outage.fromSeconds && elapsed < outage.toSeconds,
    );
    if (down) {
      this.transientFailures += 1;
      return serviceUnavailable(api);
    }
    if (window && (elapsed < window.fromSeconds || elapsed > window.toSeconds)) return undefined;
    const random = this.world.context.random;
    const rates = this.faults.throttleRate;
    // A standard queue takes a nearly unlimited rate of calls per API action (docs/aws-facts.md, API throttling):
    // "every API" throttled leaves SQS alone; a scenario names SQS, or one of its APIs, to throttle it.
    const everyApi = service === "SQS" ? undefined : rates?.["*"];
    const throttle = rates?.[api] ?? rates?.[service] ?? everyApi ?? 0;
    if (random.chance(throttle)) {
      this.throttled += 1;
      return throttling(api);
    }
    if (random.chance(this.faults.transientRate ?? 0)) {
      this.transientFailures += 1;
      return internalFailure(api);
    }
    return undefined;
  }

  private count(api: string, instanceId: string, fn: string): void {
    this.calls.set(api, (this.calls.get(api) ?? 0) + 1);
    this.callLog?.push({ at: this.world.context.clock.now(), api, fn });
    let perInstance = this.callsByInstance.get(instanceId);
    if (!perInstance) {
      perInstance = new Map();
      this.callsByInstance.set(instanceId, perInstance);
    }
    perInstance.set(api, (perInstance.get(api) ?? 0) + 1);
  }
}
