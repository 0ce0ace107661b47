import { AutoScalingClient } from "@aws-sdk/client-auto-scaling";
import { CloudWatchClient } from "@aws-sdk/client-cloudwatch";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { ListCommandsCommand, SSMClient } from "@aws-sdk/client-ssm";
import { mockClient } from "aws-sdk-client-mock";
import { DEFAULT_POLL_INTERVAL_SECONDS } from "../../shared/config/poll-intervals.js";
import type { RuntimeConfig } from "../../shared/config/runtime-config.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import type { RecheckMessage, RecheckScheduler } from "../../shared/gate/ports.js";
import type { GateRecord } from "../../shared/gate/record.js";
import type { MetricDatum } from "../../shared/metrics/sink.js";
import { InMemoryGateStore } from "./in-memory-gate-store.js";

export const INSTANCE_ID = "i-0123456789abcdef0";
export const TOKEN = "19cc4d4a-e450-4d1c-b448-0de67example";
export const GROUP = "cnt-backend-asg";
export const HOOK = "launchgate-launch";
export const DOCUMENT = "launchgate-cnt-backend-cnt-backend-asg-bootstrap";
export const TG_ARN =
  "arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/cnt-backend-tg/6d0ecf831eec9f09";
/** A second target group, for gates that must see `healthy` in every group attached to the instance's group. */
export const ADMIN_TG_ARN =
  "arn:aws:elasticloadbalancing:eu-west-2:123456789012:targetgroup/cnt-admin-tg/0a1b2c3d4e5f6a7b";
export const LB_ARN =
  "arn:aws:elasticloadbalancing:eu-west-2:123456789012:loadbalancer/app/cnt-alb/50dc6c495c0c9188";
/** 2026-11-28T05:00:00Z, an arbitrary fixed start for the manual clock. */
export const T0 = Date.UTC(2026, 10, 28, 5, 0, 0);

export const RUNTIME_CONFIG: RuntimeConfig = {
  groups: [
    {
      name: GROUP,
      hookName: HOOK,
      heartbeatTimeoutSeconds: 600,
      gateTimeoutSeconds: 2400,
      agentTimeoutSeconds: 600,
      bootstrapTimeoutSeconds: 1200,
      targetGroups: ["cnt-backend-tg"],
      documentName: DOCUMENT,
      remediation: {
        alarms: ["cnt-backend-unhealthy-hosts"],
        maxInstances: 2,
        maxPercentOfGroup: 67,
        restartAttempts: 2,
        attemptWindowMinutes: 60,
        cooldownMinutes: 15,
        dryRun: false,
        systemicThresholdPercent: 50,
        maxReplacementsPerHour: 2,
      },
    },
  ],
  stateTableName: "state",
  operationsTableName: "operations",
  pollIntervalSeconds: { ...DEFAULT_POLL_INTERVAL_SECONDS },
  recheckQueueUrls: {
    launch: "https://sqs.eu-west-2.amazonaws.com/123456789012/launch",
    result: "https://sqs/result",
    operations: "https://sqs/operations",
  },
};

/** The test configuration with the group's target-group allow-list replaced by `targetGroups`. */
export function configWithTargetGroups(targetGroups: readonly string[]): RuntimeConfig {
  return {
    ...RUNTIME_CONFIG,
    groups: RUNTIME_CONFIG.groups.map((group) => ({ ...group, targetGroups: [...targetGroups] })),
  };
}

export class RecordingScheduler implements RecheckScheduler {
  readonly scheduled: { message: RecheckMessage; delaySeconds: number }[] = [];
  async schedule(message: RecheckMessage, delaySeconds: number): Promise<void> {
    this.scheduled.push({ message, delaySeconds });
  }
  /** The most recent re-check, which the test then delivers by hand. */
  last(): { message: RecheckMessage; delaySeconds: number } {
    const last = this.scheduled.at(-1);
    if (!last) throw new Error("nothing was scheduled");
    return last;
  }
}

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  extra?: Record<string, unknown>;
}

/**
 * A gate wired to mocked AWS clients, an in-memory store, a recording scheduler and a manual clock.
 * Each call resets the client mocks: create one per test (beforeEach).
 */
export function gateHarness(config: RuntimeConfig = RUNTIME_CONFIG) {
  const autoScalingMock = mockClient(AutoScalingClient);
  const ssmMock = mockClient(SSMClient);
  // An instance that has run no commands, unless a test says otherwise (see aws-stubs' commandsOnInstance).
  ssmMock.on(ListCommandsCommand).resolves({ Commands: [] });
  const elbv2Mock = mockClient(ElasticLoadBalancingV2Client);
  const cloudwatchMock = mockClient(CloudWatchClient);
  const store = new InMemoryGateStore();
  const rechecks = new RecordingScheduler();
  const logs: LogLine[] = [];
  const metrics: MetricDatum[] = [];
  let now = T0;
  const deps: GateDeps = {
    config,
    autoScaling: new AutoScalingClient({}),
    ssm: new SSMClient({}),
    elbv2: new ElasticLoadBalancingV2Client({}),
    store,
    rechecks,
    now: () => now,
    // A pause moves the manual clock: nothing waits for real.
    sleep: async (ms) => {
      now += ms;
    },
    log: {
      info: (message, extra) => logs.push({ level: "info", message, extra }),
      warn: (message, extra) => logs.push({ level: "warn", message, extra }),
      error: (message, extra) => logs.push({ level: "error", message, extra }),
    },
    metrics: { emit: (datum) => metrics.push(datum) },
  };
  return {
    deps,
    autoScalingMock,
    ssmMock,
    elbv2Mock,
    cloudwatchMock,
    cloudwatch: new CloudWatchClient({}),
    store,
    rechecks,
    logs,
    metrics,
    advanceSeconds: (seconds: number) => {
      now += seconds * 1000;
    },
    now: () => now,
  };
}

export type GateHarness = ReturnType<typeof gateHarness>;

/** A wait's record as the stores keep it: the test instance awaiting its agent, with `overrides`. */
export function gateRecordOf(overrides: Partial<GateRecord> = {}): GateRecord {
  return {
    instanceId: INSTANCE_ID,
    groupName: GROUP,
    hookName: HOOK,
    token: "tok",
    mode: { bootstrapPhase: "all", needsTraffic: true },
    phase: "awaiting-agent",
    startedAt: T0,
    phaseStartedAt: T0,
    deadline: T0 + 2_400_000,
    lastHeartbeatAt: T0,
    registered: [],
    history: [],
    version: 1,
    ...overrides,
  };
}

/** The re-check of `step` the test's wait schedules for the version the store holds now (and `extra`). */
export function recheckForStored(
  h: GateHarness,
  step: RecheckMessage["step"],
  extra: Partial<RecheckMessage> = {},
): RecheckMessage {
  return {
    step,
    instanceId: INSTANCE_ID,
    token: TOKEN,
    forVersion: h.store.get(INSTANCE_ID).version,
    ...extra,
  };
}
