import { DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import {
  DescribeTargetHealthCommand,
  RegisterTargetsCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { DescribeInstanceInformationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHandler as createResultHandler } from "../../../functions/command-result/handler.js";
import { createHandler as createLaunchHandler } from "../../../functions/launch/handler.js";
import { onCommandFinished } from "../../../shared/gate/command-outcome.js";
import type { RecheckMessage, RecheckScheduler, ScheduledRecheck } from "../../../shared/gate/ports.js";
import { startGate } from "../../../shared/gate/start-gate.js";
import {
  groupTargetGroups,
  hookAcceptsCompletion,
  lifecycleOutput,
  lifecycleState,
  sendCommandReturns,
} from "../../support/aws-stubs.js";
import { commandFinished, launchEvent } from "../../support/events.js";
import { type GateHarness, gateHarness, TG_ARN } from "../../support/gate-harness.js";

/** Three instances of one burst, each with its own wait. */
const IDS = ["i-0aaaaaaaaaaaaaaa1", "i-0aaaaaaaaaaaaaaa2", "i-0aaaaaaaaaaaaaaa3"];
const tokenOf = (id: string) => `token-${id}`;
const agentRecheck = (id: string) => JSON.stringify({ step: "agent", instanceId: id, token: tokenOf(id) });
const healthRecheck = (id: string) => JSON.stringify({ step: "health", instanceId: id, token: tokenOf(id) });

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map(
      (body, index) =>
        ({ messageId: `m-${index}`, body, eventSource: "aws:sqs", attributes: {} }) as unknown as SQSRecord,
    ),
  };
}

/** Agents Online for these instances only, answering for whichever ids a call asks about. */
function agentsOnline(h: GateHarness, online: readonly string[]): void {
  h.ssmMock.on(DescribeInstanceInformationCommand).callsFake(async (input) => ({
    InstanceInformationList: (input.Filters?.[0]?.Values ?? [])
      .filter((id: string) => online.includes(id))
      .map((id: string) => ({ InstanceId: id, PingStatus: "Online" })),
  }));
}

function throttled(): Error {
  return Object.assign(new Error("Rate exceeded"), { name: "ThrottlingException" });
}

/** A scheduler that takes batches, as SQS does, and can refuse some entries. */
class BatchingScheduler implements RecheckScheduler {
  readonly batches: ScheduledRecheck[][] = [];
  readonly single: RecheckMessage[] = [];
  refuse = (_entry: ScheduledRecheck) => false;
  async schedule(message: RecheckMessage, delaySeconds: number): Promise<void> {
    if (this.refuse({ message, delaySeconds })) throw new Error("Rate exceeded");
    this.single.push(message);
  }
  async scheduleMany(rechecks: readonly ScheduledRecheck[]): Promise<number[]> {
    this.batches.push([...rechecks]);
    return rechecks.flatMap((entry, index) => (this.refuse(entry) ? [index] : []));
  }
}

let h: GateHarness;
let scheduler: BatchingScheduler;
beforeEach(async () => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  agentsOnline(h, []);
  for (const id of IDS) {
    await startGate(h.deps, launchEvent({ instanceId: id, token: tokenOf(id), waitStartedAt: h.now() }));
  }
  scheduler = new BatchingScheduler();
  (h.deps as { rechecks: RecheckScheduler }).rechecks = scheduler;
  h.ssmMock.resetHistory();
  h.store.batchLoads = 0;
});

afterEach(() => {
  vi.useRealTimers();
});

describe("a batch of agent re-checks", () => {
  it("reads the records and the agents once for all, and sends the next polls in one call", async () => {
    const result = await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(h.store.batchLoads).toBe(1);
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, {
      Filters: [{ Key: "InstanceIds", Values: IDS }],
    });
    expect(scheduler.single).toEqual([]);
    expect(scheduler.batches).toHaveLength(1);
    expect(scheduler.batches[0]?.map((entry) => entry.message.instanceId)).toEqual(IDS);
  });

  it("sends a wait's own re-check before saving its record; the others' stay for the one send at the end", async () => {
    agentsOnline(h, [IDS[1] as string]);
    sendCommandReturns(h, "cmd-2");
    const order: string[] = [];
    const save = h.store.save.bind(h.store);
    h.store.save = async (record, options) => {
      order.push(`save ${record.instanceId} ${record.phase}`);
      return save(record, options);
    };
    scheduler.scheduleMany = async (rechecks) => {
      order.push(
        `send ${rechecks.map((entry) => `${entry.message.instanceId} ${entry.message.step}`).join(", ")}`,
      );
      return [];
    };

    await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));

    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(order).toEqual([
      `save ${IDS[1]} sending-command`,
      `send ${IDS[1]} command`,
      `save ${IDS[1]} bootstrapping`,
      `send ${IDS[0]} agent, ${IDS[2]} agent`,
    ]);
  });

  it("sends one by one what the batch call did not deliver, a second chance each", async () => {
    let refusals = 0;
    scheduler.refuse = (entry) => entry.message.instanceId === IDS[2] && refusals++ === 0;
    const result = await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(scheduler.single.map((message) => message.instanceId)).toEqual([IDS[2]]);
  });

  it("reports the messages whose re-checks could not be sent at all, for SQS to deliver them again", async () => {
    scheduler.refuse = (entry) => entry.message.instanceId === IDS[2];
    const result = await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: "m-2" }] });
  });

  it("keeps a held re-check's due time: the delay sent is what is left of it", async () => {
    const slowSave = h.store.save.bind(h.store);
    h.store.save = async (record, options) => {
      h.advanceSeconds(2); // a slow write in the middle of the batch
      return slowSave(record, options);
    };
    agentsOnline(h, [IDS[2] as string]);
    sendCommandReturns(h, "cmd-3");
    await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));
    const atEnd = scheduler.batches.at(-1) ?? [];
    const first = atEnd.find((entry) => entry.message.instanceId === IDS[0]);
    // Scheduled 10 s ahead, sent 4 s later (two slow saves): 6 s left.
    expect(first?.delaySeconds).toBe(6);
  });

  it("sends what is held every few seconds while a step is held up, not only at the end", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
    agentsOnline(h, [IDS[2] as string]);
    sendCommandReturns(h, "cmd-3");
    let release: () => void = () => undefined;
    // The last instance's agent is Online; the look at its lifecycle before sending is held up (throttled).
    h.autoScalingMock.on(DescribeAutoScalingInstancesCommand).callsFake(async () => {
      await new Promise<void>((resolve) => {
        release = resolve;
      });
      return lifecycleOutput("Pending:Wait");
    });
    const handling = createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));
    await vi.advanceTimersByTimeAsync(3_000);
    expect(scheduler.batches.flat().map((entry) => entry.message.instanceId)).toEqual([IDS[0], IDS[1]]);
    release();
    await handling;
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("takes a throttled shared agent read as 'not yet' for all: nobody asks alone, each looks again later", async () => {
    h.ssmMock.on(DescribeInstanceInformationCommand).rejects(throttled());

    const result = await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(scheduler.batches[0]?.map((entry) => entry.message.instanceId)).toEqual(IDS);
    // The dense 10 s pace, stretched to 20 s (on its grid: between 10 and 30 s away).
    for (const entry of scheduler.batches[0] ?? []) expect(entry.delaySeconds).toBeGreaterThan(10);
  });

  it("still has each re-check ask alone when the shared agent read failed for another reason", async () => {
    h.ssmMock.on(DescribeInstanceInformationCommand).rejectsOnce(new Error("socket hang up")).resolves({});

    await createLaunchHandler(() => h.deps)(sqsEvent(...IDS.map(agentRecheck)));

    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1 + IDS.length);
  });

  it("reads no record for re-checks that carry their wait and find no agent Online; one poll for all", async () => {
    const bodies = h.rechecks.scheduled.map((entry) => JSON.stringify(entry.message));
    expect(bodies).toHaveLength(IDS.length);
    expect(bodies.every((body) => body.includes('"seen"'))).toBe(true);
    h.advanceSeconds(10);
    const loads = vi.spyOn(h.store, "load");

    const result = await createLaunchHandler(() => h.deps)(sqsEvent(...bodies));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(h.store.batchLoads).toBe(0);
    expect(loads).not.toHaveBeenCalled();
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(scheduler.batches[0]?.map((entry) => entry.message.instanceId)).toEqual(IDS);
  });

  it("reads alone when the batch holds one message: a BatchGetItem would cost the same", async () => {
    await createLaunchHandler(() => h.deps)(sqsEvent(agentRecheck(IDS[0] as string)));
    expect(h.store.batchLoads).toBe(0);
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
  });
});

describe("a batch of health re-checks", () => {
  it("reads each target group's health once for all its waits", async () => {
    agentsOnline(h, IDS);
    groupTargetGroups(h);
    for (const [index, id] of IDS.entries()) {
      sendCommandReturns(h, `cmd-${index}`);
      await createLaunchHandler(() => h.deps)(sqsEvent(agentRecheck(id)));
      await onCommandFinished(h.deps, { ...commandFinished(`cmd-${index}`), instanceId: id });
    }
    expect(h.elbv2Mock).toHaveReceivedCommandTimes(RegisterTargetsCommand, 3);
    h.elbv2Mock.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: IDS.map((id) => ({
        Target: { Id: id, Port: 8000 },
        TargetHealth: { State: "initial", Reason: "Elb.InitialHealthChecking" },
      })),
    });
    h.elbv2Mock.resetHistory();
    h.advanceSeconds(10);

    await createResultHandler(() => h.deps)(sqsEvent(...IDS.map(healthRecheck)));

    expect(h.elbv2Mock).toHaveReceivedCommandTimes(DescribeTargetHealthCommand, 1);
    // The whole group, not a list: a listed target that no longer exists would fail the call for all.
    const [call] = h.elbv2Mock.commandCalls(DescribeTargetHealthCommand);
    expect(call?.args[0].input).toEqual({ TargetGroupArn: TG_ARN });
  });
});
