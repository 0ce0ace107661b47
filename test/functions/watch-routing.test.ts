import { DescribeAutoScalingInstancesCommand } from "@aws-sdk/client-auto-scaling";
import { DescribeInstanceInformationCommand, SendCommandCommand } from "@aws-sdk/client-ssm";
import type { SQSEvent, SQSRecord } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { createHandler as createCommandResultHandler } from "../../functions/command-result/handler.js";
import { createHandler as createLaunchHandler } from "../../functions/launch/handler.js";
import { parseRecheck } from "../../shared/events/parse-recheck.js";
import type { GateDeps } from "../../shared/gate/deps.js";
import type { WatchKind, WatchMember } from "../../shared/gate/watch/watch.js";
import { log } from "../../shared/logger.js";
import {
  agentPing,
  hookAcceptsCompletion,
  lifecycleState,
  sendCommandReturns,
} from "../support/aws-stubs.js";
import { fixture } from "../support/events.js";
import { type GateHarness, GROUP, gateHarness, INSTANCE_ID, T0, TOKEN } from "../support/gate-harness.js";
import { InMemoryWatchStore, RecordingWatchMessages } from "../support/in-memory-watch-store.js";

// Spied, not replaced: the handlers' parsing runs as in production, and the test sees what it was given.
vi.mock("../../shared/events/parse-recheck.js", async (importOriginal) => {
  const actual = await importOriginal<typeof import("../../shared/events/parse-recheck.js")>();
  return { ...actual, parseRecheck: vi.fn(actual.parseRecheck) };
});

function sqsEvent(...bodies: string[]): SQSEvent {
  return {
    Records: bodies.map(
      (body, index) =>
        ({ messageId: `m-${index}`, body, eventSource: "aws:sqs", attributes: {} }) as unknown as SQSRecord,
    ),
  };
}

const CHAIN = "5b0c8e3e-0d6f-4d5e-9a59-2b5a0c7e8f11";
const watchBody = (overrides: Record<string, unknown> = {}) =>
  JSON.stringify({ watch: "agent", groupName: GROUP, chain: CHAIN, hop: 3, ...overrides });
const agentRecheck = JSON.stringify({ step: "agent", instanceId: INSTANCE_ID, token: TOKEN });

let h: GateHarness;
let watchStore: InMemoryWatchStore;
let messages: RecordingWatchMessages;
let watching: GateDeps;
let info: ReturnType<typeof vi.spyOn>;
let warn: ReturnType<typeof vi.spyOn>;
let error: ReturnType<typeof vi.spyOn>;

beforeEach(() => {
  h = gateHarness();
  lifecycleState(h, "Pending:Wait");
  hookAcceptsCompletion(h);
  watchStore = new InMemoryWatchStore();
  messages = new RecordingWatchMessages();
  watching = { ...h.deps, watch: { store: watchStore, messages } };
  info = vi.spyOn(log, "info");
  warn = vi.spyOn(log, "warn");
  error = vi.spyOn(log, "error");
  vi.mocked(parseRecheck).mockClear();
});

afterEach(() => {
  vi.restoreAllMocks();
});

/** Opens the gate (without watch wiring): the record awaits the agent, as the re-check finds it. */
async function openGate(): Promise<void> {
  await createLaunchHandler(() => h.deps)(fixture("launch-lifecycle-action"));
  expect(h.store.get(INSTANCE_ID).phase).toBe("awaiting-agent");
}

/** The distinct bodies parseRecheck was given (runSqsBatch parses a record more than once). */
const parsedBodies = () => [...new Set(vi.mocked(parseRecheck).mock.calls.map(([body]) => body))];
const watchOps = () => watchStore.calls.map((call) => call.op);

/** The one store call of a watch message at hop 3 that is refused: its try to take over as hop 4. */
function takeOverFromHop3(kind: WatchKind) {
  return {
    op: "renew",
    kind,
    groupName: GROUP,
    held: { chain: CHAIN, hop: 3 },
    nextHop: 4,
    leaseUntil: expect.any(Number),
    leaving: [],
  };
}

describe("launch handler: watch messages beside the re-checks", () => {
  it("runs the agent re-check as before and the watch beside it; a watch held elsewhere stops with a skip", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await openGate();

    const result = await createLaunchHandler(() => watching)(sqsEvent(watchBody(), agentRecheck));

    expect(result).toEqual({ batchItemFailures: [] });
    // The re-check: parsed as a re-check, and its step ran (the agent is Online: the command is sent).
    expect(parsedBodies()).toEqual([agentRecheck]);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    // The watch: it tried to take over from the message's hop, and stopped.
    expect(watchStore.calls).toEqual([takeOverFromHop3("agent")]);
    expect(info).toHaveBeenCalledWith(
      "skipped: watch is held by another invocation",
      expect.objectContaining({ chain: CHAIN, hop: 3, watch: "agent" }),
    );
    expect(messages.sent).toEqual([]);
    expect(error).not.toHaveBeenCalled();
  });

  it("a watch that holds the lease runs the step of a member whose agent is Online, then lets go", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await openGate();
    const member: WatchMember = { instanceId: INSTANCE_ID, token: TOKEN, from: T0, until: T0 + 150_000 };
    watchStore.setLease("agent", GROUP, { chain: CHAIN, hop: 3 }, T0 + 60_000);
    watchStore.putMember("agent", GROUP, member);

    const result = await createLaunchHandler(() => watching)(sqsEvent(watchBody()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(parsedBodies()).toEqual([]);
    expect(h.ssmMock).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(h.store.get(INSTANCE_ID).phase).not.toBe("awaiting-agent");
    // No member left: released by the holder (hop 4 now), dropping the member it ran.
    expect(watchStore.callsOf("release")).toEqual([
      {
        op: "release",
        kind: "agent",
        groupName: GROUP,
        held: { chain: CHAIN, hop: 4 },
        leaving: [INSTANCE_ID],
      },
    ]);
    expect(messages.sent).toEqual([]);
  });

  it("acknowledges a malformed watch message and changes nothing", async () => {
    const before = h.rechecks.scheduled.length;
    const result = await createLaunchHandler(() => watching)(
      sqsEvent(watchBody({ groupName: "" }), watchBody({ hop: -1 }), JSON.stringify({ watch: "agent" })),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(watchStore.calls).toEqual([]);
    expect(messages.sent).toEqual([]);
    expect(h.rechecks.scheduled.length).toBe(before);
    expect(h.store.records.size).toBe(0);
    // Watch bodies are never taken for re-checks.
    expect(parsedBodies()).toEqual([]);
    expect(h.autoScalingMock).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    expect(h.ssmMock).not.toHaveReceivedCommand(DescribeInstanceInformationCommand);
    expect(warn).toHaveBeenCalledTimes(3);
    expect(warn).toHaveBeenCalledWith("rejected invalid input", {
      error: 'malformed watch message: groupName: got ""; allowed: at least 1 long',
    });
  });

  it("rejects a health watch message as invalid input, and acknowledges it", async () => {
    const result = await createLaunchHandler(() => watching)(sqsEvent(watchBody({ watch: "health" })));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(watchStore.calls).toEqual([]);
    expect(parsedBodies()).toEqual([]);
    expect(warn).toHaveBeenCalledWith("rejected invalid input", {
      error: "the health watch is not run by this function",
    });
  });

  it("skips a watch of a group launchgate does not gate, before touching its lease", async () => {
    const result = await createLaunchHandler(() => watching)(
      sqsEvent(watchBody({ groupName: "not-ours-asg" })),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(watchStore.calls).toEqual([]);
    expect(info).toHaveBeenCalledWith("skipped: group is not configured for launchgate", {
      groupName: "not-ours-asg",
    });
  });

  it("logs and acknowledges a watch that fails unexpectedly; the batch's re-check is unaffected", async () => {
    agentPing(h, "Online");
    sendCommandReturns(h, "cmd-1");
    await openGate();
    watchStore.setLease("agent", GROUP, { chain: CHAIN, hop: 3 }, T0 + 60_000);
    watchStore.failNext("renew", new Error("Rate exceeded"));

    const result = await createLaunchHandler(() => watching)(sqsEvent(agentRecheck, watchBody()));

    expect(result).toEqual({ batchItemFailures: [] });
    expect(watchOps()).toEqual(["renew"]);
    expect(error).toHaveBeenCalledWith("watch failed; the waits' own rounds start it again", {
      error: "Rate exceeded",
    });
    expect(h.ssmMock).toHaveReceivedCommandTimes(SendCommandCommand, 1);
  });

  it("a watch message on a function without watch wiring is logged and acknowledged", async () => {
    const result = await createLaunchHandler(() => h.deps)(sqsEvent(watchBody()));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(error).toHaveBeenCalledWith("watch failed; the waits' own rounds start it again", {
      error: "this function has no watch wiring",
    });
  });
});

describe("command-result handler: watch messages", () => {
  it("runs a batch of only a health watch message as the watch, never as a re-check", async () => {
    const body = watchBody({ watch: "health" });
    const result = await createCommandResultHandler(() => watching)(sqsEvent(body));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(parsedBodies()).toEqual([]);
    expect(watchStore.calls).toEqual([takeOverFromHop3("health")]);
    expect(info).toHaveBeenCalledWith(
      "skipped: watch is held by another invocation",
      expect.objectContaining({ watch: "health" }),
    );
  });

  it("rejects an agent watch message as invalid input and acknowledges it", async () => {
    const result = await createCommandResultHandler(() => watching)(sqsEvent(watchBody()));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(watchStore.calls).toEqual([]);
    expect(parsedBodies()).toEqual([]);
    expect(warn).toHaveBeenCalledWith("rejected invalid input", {
      error: "the agent watch is not run by this function",
    });
  });

  it("logs and acknowledges a health watch whose store fails", async () => {
    watchStore.setLease("health", GROUP, { chain: CHAIN, hop: 3 }, T0 + 60_000);
    watchStore.failNext("renew", new Error("ProvisionedThroughputExceededException"));
    const result = await createCommandResultHandler(() => watching)(sqsEvent(watchBody({ watch: "health" })));
    expect(result).toEqual({ batchItemFailures: [] });
    expect(error).toHaveBeenCalledWith("watch failed; the waits' own rounds start it again", {
      error: "ProvisionedThroughputExceededException",
    });
  });

  it("passes the other records of a mixed batch to the re-check parser, as before", async () => {
    const recheck = JSON.stringify({ step: "health", instanceId: INSTANCE_ID, token: TOKEN });
    const result = await createCommandResultHandler(() => watching)(
      sqsEvent(watchBody({ watch: "health" }), recheck),
    );
    expect(result).toEqual({ batchItemFailures: [] });
    expect(parsedBodies()).toEqual([recheck]);
    expect(watchOps()).toEqual(["renew"]);
  });
});
