import {
  AutoScalingClient,
  CompleteLifecycleActionCommand,
  RecordLifecycleActionHeartbeatCommand,
} from "@aws-sdk/client-auto-scaling";
import { SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import type { AwsClientStub } from "aws-sdk-client-mock";
import { DEFAULT_POLL_INTERVAL_SECONDS } from "../../../shared/config/poll-intervals.js";
import type { RuntimeConfig } from "../../../shared/config/runtime-config.js";
import type { DrainDeps } from "../../../shared/drain/drain.js";
import type { DrainRecord } from "../../../shared/drain/record.js";
import type { DrainStore } from "../../../shared/drain/store.js";
import { StaleRecordError } from "../../../shared/errors.js";

/** What the drain's tests share: one draining group, and a drain store with the table's conditional write. */

export const INSTANCE = "i-0123456789abcdef0";
export const TOKEN = "11111111-2222-3333-4444-555555555555";
export const GROUP = "cnt-backend-asg";
export const HOOK = "launchgate-launch-drain";

export const config: RuntimeConfig = {
  groups: [
    {
      name: GROUP,
      hookName: "launchgate-launch",
      heartbeatTimeoutSeconds: 600,
      gateTimeoutSeconds: 1800,
      agentTimeoutSeconds: 300,
      bootstrapTimeoutSeconds: 1200,
      targetGroups: ["cnt-backend-tg"],
      documentName: "doc-bootstrap",
      remediation: {
        alarms: [],
        maxInstances: 1,
        maxPercentOfGroup: 34,
        restartAttempts: 2,
        attemptWindowMinutes: 60,
        cooldownMinutes: 15,
        dryRun: false,
        systemicThresholdPercent: 50,
        maxReplacementsPerHour: 2,
      },
      drain: { hookName: HOOK, timeoutSeconds: 120 },
    },
  ],
  stateTableName: "state",
  operationsTableName: "ops",
  pollIntervalSeconds: { ...DEFAULT_POLL_INTERVAL_SECONDS },
  recheckQueueUrls: { launch: "l", result: "r", operations: "o" },
};

export class MemoryDrains implements DrainStore {
  readonly records = new Map<string, DrainRecord>();
  async load(id: string) {
    return this.records.get(id);
  }
  async save(record: DrainRecord, replacing?: number) {
    const expected = replacing ?? record.version - 1;
    const stored = this.records.get(record.instanceId);
    if ((stored?.version ?? 0) !== expected) throw new StaleRecordError(record.instanceId, expected);
    this.records.set(record.instanceId, record);
  }
}

/** A re-check the drain asked for, as the recording scheduler keeps it. */
export interface ScheduledDrainRecheck {
  readonly instanceId: string;
  readonly token: string;
  readonly delaySeconds: number;
}

/**
 * The drain's wiring for one test: the file's client mocks reset to a hook that takes heartbeats and
 * completions and an SSM that takes the command, an empty store, a recording scheduler, and `clock` as
 * the time.
 */
export function drainWiring(
  autoScaling: AwsClientStub<AutoScalingClient>,
  ssm: AwsClientStub<SSMClient>,
  clock: () => number,
): { drains: MemoryDrains; scheduled: ScheduledDrainRecheck[]; deps: DrainDeps } {
  autoScaling.reset();
  ssm.reset();
  autoScaling.on(CompleteLifecycleActionCommand).resolves({});
  autoScaling.on(RecordLifecycleActionHeartbeatCommand).resolves({});
  ssm.on(SendCommandCommand).resolves({ Command: { CommandId: "cmd-1" } });
  const drains = new MemoryDrains();
  const scheduled: ScheduledDrainRecheck[] = [];
  const deps: DrainDeps = {
    config,
    autoScaling: new AutoScalingClient({ region: "eu-west-2" }),
    ssm: new SSMClient({ region: "eu-west-2" }),
    drains,
    rechecks: {
      schedule: async (instanceId, token, delaySeconds) =>
        void scheduled.push({ instanceId, token, delaySeconds }),
    },
    now: clock,
    log: { info: () => {}, warn: () => {} },
  };
  return { drains, scheduled, deps };
}
