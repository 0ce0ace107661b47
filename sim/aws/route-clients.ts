import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  RecordLifecycleActionHeartbeatCommand,
  SetInstanceHealthCommand,
} from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient, DescribeAlarmsCommand } from "@aws-sdk/client-cloudwatch";
import {
  BatchGetItemCommand,
  DeleteItemCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
} from "@aws-sdk/client-dynamodb";
import {
  DeregisterTargetsCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  DescribeInstanceInformationCommand,
  GetCommandInvocationCommand,
  ListCommandsCommand,
  SendCommandCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { SDK_RETRY } from "../../shared/aws/clients.js";
import { isAllowed } from "../deploy/policy.js";
import type { World } from "../world.js";
import { accessDeniedCode, accessRequests } from "./authorization.js";
import { currentInvocation } from "./invocation.js";
import { awsError, internalFailure, throttling } from "./sdk-errors.js";

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
  /** Probability that one attempt of a call is throttled, per API name or for all ("*"). */
  readonly throttleRate?: Readonly<Record<string, number>>;
  /** Probability that one attempt fails with a 5xx, for all APIs. */
  readonly transientRate?: number;
  /** Only inject API faults between these virtual offsets (seconds from the start). */
  readonly window?: { readonly fromSeconds: number; readonly toSeconds: number };
}

export class AwsRouter {
  readonly calls = new Map<string, number>();
  readonly callsByInstance = new Map<string, Map<string, number>>();
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
    const { asg, ssm, elb, dynamodb, sqs } = this.world;
    const autoScaling = mockClient(AutoScalingClient);
    autoScaling.onAnyCommand().rejects(new Error("simulation: unmodeled Auto Scaling API"));
    autoScaling
      .on(DescribeAutoScalingInstancesCommand)
      .callsFake((input) =>
        this.call("DescribeAutoScalingInstances", input, () => asg.describeAutoScalingInstances(input)),
      );
    autoScaling
      .on(DescribeAutoScalingGroupsCommand)
      .callsFake((input) =>
        this.call("DescribeAutoScalingGroups", input, () => asg.describeAutoScalingGroups(input)),
      );
    autoScaling
      .on(CompleteLifecycleActionCommand)
      .callsFake((input) =>
        this.call("CompleteLifecycleAction", input, () => asg.completeLifecycleAction(input)),
      );
    autoScaling
      .on(RecordLifecycleActionHeartbeatCommand)
      .callsFake((input) =>
        this.call("RecordLifecycleActionHeartbeat", input, () => asg.recordLifecycleActionHeartbeat(input)),
      );

    autoScaling
      .on(SetInstanceHealthCommand)
      .callsFake((input) => this.call("SetInstanceHealth", input, () => asg.setInstanceHealth(input)));

    const cloudwatchStub = mockClient(CloudWatchClient);
    cloudwatchStub.onAnyCommand().rejects(new Error("simulation: unmodeled CloudWatch API"));
    cloudwatchStub
      .on(DescribeAlarmsCommand)
      .callsFake((input) =>
        this.call("DescribeAlarms", input, () => this.world.cloudwatch.describeAlarms(input)),
      );

    const ssmStub = mockClient(SSMClient);
    ssmStub.onAnyCommand().rejects(new Error("simulation: unmodeled SSM API"));
    ssmStub
      .on(DescribeInstanceInformationCommand)
      .callsFake((input) =>
        this.call("DescribeInstanceInformation", input, () => ssm.describeInstanceInformation(input)),
      );
    ssmStub
      .on(SendCommandCommand)
      .callsFake((input) => this.call("SendCommand", input, () => ssm.sendCommand(input, asg.instances)));
    ssmStub
      .on(GetCommandInvocationCommand)
      .callsFake((input) => this.call("GetCommandInvocation", input, () => ssm.getCommandInvocation(input)));

    ssmStub
      .on(ListCommandsCommand)
      .callsFake((input) => this.call("ListCommands", input, () => ssm.listCommands(input)));

    const elbStub = mockClient(ElasticLoadBalancingV2Client);
    elbStub.onAnyCommand().rejects(new Error("simulation: unmodeled ELBv2 API"));
    elbStub
      .on(DescribeTargetHealthCommand)
      .callsFake((input) => this.call("DescribeTargetHealth", input, () => elb.describeTargetHealth(input)));
    elbStub
      .on(DescribeTargetGroupsCommand)
      .callsFake((input) => this.call("DescribeTargetGroups", input, () => elb.describeTargetGroups(input)));
    elbStub
      .on(DescribeLoadBalancersCommand)
      .callsFake((input) =>
        this.call("DescribeLoadBalancers", input, () => elb.describeLoadBalancers(input)),
      );
    elbStub
      .on(RegisterTargetsCommand)
      .callsFake((input) =>
        this.call("RegisterTargets", input, () => elb.registerTargets(input, asg.instances)),
      );
    elbStub
      .on(DeregisterTargetsCommand)
      .callsFake((input) => this.call("DeregisterTargets", input, () => elb.deregisterTargets(input)));

    const dynamoStub = mockClient(DynamoDBClient);
    dynamoStub.onAnyCommand().rejects(new Error("simulation: unmodeled DynamoDB API"));
    dynamoStub
      .on(GetItemCommand)
      .callsFake((input) => this.call("GetItem", input, () => dynamodb.getItem(input)));
    dynamoStub
      .on(PutItemCommand)
      .callsFake((input) => this.call("PutItem", input, () => dynamodb.putItem(input)));
    dynamoStub
      .on(BatchGetItemCommand)
      .callsFake((input) => this.call("BatchGetItem", input, () => dynamodb.batchGetItem(input)));
    dynamoStub
      .on(DeleteItemCommand)
      .callsFake((input) => this.call("DeleteItem", input, () => dynamodb.deleteItem(input)));

    const sqsStub = mockClient(SQSClient);
    sqsStub.onAnyCommand().rejects(new Error("simulation: unmodeled SQS API"));
    sqsStub
      .on(SendMessageCommand)
      .callsFake((input) => this.call("SendMessage", input, () => sqs.sendMessage(input)));

    for (const stub of [autoScaling, cloudwatchStub, ssmStub, elbStub, dynamoStub, sqsStub])
      this.restores.push(() => stub.restore());
  }

  restore(): void {
    for (const restore of this.restores) restore();
    this.restores.length = 0;
  }

  private async call<T>(api: string, input: object, model: () => T): Promise<T> {
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
      this.count(api, instanceId);
      this.authorize(api, input as Record<string, unknown>, invocation.fn);
      const fault = this.fault(api);
      if (!fault) return model();
      if (attempt >= SDK_RETRY.maxAttempts) throw fault;
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
    if (window && (elapsed < window.fromSeconds || elapsed > window.toSeconds)) return undefined;
    const random = this.world.context.random;
    const throttle = this.faults.throttleRate?.[api] ?? this.faults.throttleRate?.["*"] ?? 0;
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

  private count(api: string, instanceId: string): void {
    this.calls.set(api, (this.calls.get(api) ?? 0) + 1);
    let perInstance = this.callsByInstance.get(instanceId);
    if (!perInstance) {
      perInstance = new Map();
      this.callsByInstance.set(instanceId, perInstance);
    }
    perInstance.set(api, (perInstance.get(api) ?? 0) + 1);
  }
}
