import { describe, expect, it } from "vitest";
import {
  ChainAudit,
  type QueuedMessage,
  UNDRIVEN_GRACE_SECONDS,
  type WaitRecord,
} from "../../sim/chain-audit.js";
import { collectResults } from "../../sim/results.js";
import { scenarioNamed } from "../../sim/scenarios.js";
import { World } from "../../sim/world.js";

const wait = (
  phase: string,
  instanceId = "i-0aaaaaaaaaaaaaaaa",
  extra: Partial<WaitRecord> = {},
): WaitRecord => ({
  instanceId,
  token: "tok",
  phase,
  version: 3,
  recently: () => `${phase} for a while`,
  ...extra,
});
const recheck = (step: string, instanceId = "i-0aaaaaaaaaaaaaaaa") =>
  JSON.stringify({ step, instanceId, token: "tok" });
const queued = (body: string, receives = 0, handling = false): QueuedMessage => ({
  body,
  sentAt: 0,
  receives,
  handling,
});
const noEvents = { pending: [], failed: [] };
const GRACE_MS = UNDRIVEN_GRACE_SECONDS * 1000;

function audit(): { chains: ChainAudit; violations: string[] } {
  const violations: string[] = [];
  return { chains: new ChainAudit((what) => violations.push(what)), violations };
}

describe("the chain audit: every live wait has something coming back to it", () => {
  it("reports a live wait with nothing queued for it once it has gone without for longer than the grace", () => {
    const { chains, violations } = audit();
    chains.check(0, [wait("bootstrapping")], [], noEvents);
    chains.check(GRACE_MS, [wait("bootstrapping")], [], noEvents);
    expect(violations).toEqual([]);
    chains.check(GRACE_MS + 5000, [wait("bootstrapping")], [], noEvents);
    chains.check(GRACE_MS + 10_000, [wait("bootstrapping")], [], noEvents);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toContain(
      "i-0aaaaaaaaaaaaaaaa/tok (bootstrapping) has had no command re-check queued",
    );
    expect(violations[0]).toContain("recently: bootstrapping for a while");
  });

  it("counts a re-check of the step its phase needs, in any state, or an event on its way that moves it, as driving it", () => {
    const { chains, violations } = audit();
    const at = (t: number, messages: QueuedMessage[], pending: string[] = []) =>
      chains.check(t, [wait("awaiting-agent")], messages, { pending, failed: [] });
    at(0, [queued(recheck("agent"))]);
    at(GRACE_MS, [queued(recheck("agent"), 2)]);
    at(2 * GRACE_MS, [queued(recheck("agent"), 1, true)]);
    at(
      3 * GRACE_MS,
      [],
      [JSON.stringify({ detail: { EC2InstanceId: "i-0aaaaaaaaaaaaaaaa", token: "tok" } })],
    );
    expect(violations).toEqual([]);
  });

  it("does not count a re-check of another step, or an event that does not move the phase", () => {
    const { chains, violations } = audit();
    const launchEvent = JSON.stringify({ detail: { EC2InstanceId: "i-0aaaaaaaaaaaaaaaa", token: "tok" } });
    const waits = [
      wait("awaiting-health"),
      wait("bootstrapping", "i-0bbbbbbbbbbbbbbbb", { commandId: "cmd-1" }),
    ];
    const messages = [queued(recheck("command")), queued(recheck("health", "i-0bbbbbbbbbbbbbbbb"))];
    const otherCommand = JSON.stringify({
      resources: ["i-0bbbbbbbbbbbbbbbb"],
      detail: { "command-id": "cmd-0" },
    });
    const events = { pending: [launchEvent, otherCommand], failed: [] };
    chains.check(0, waits, messages, events);
    chains.check(GRACE_MS + 1, waits, messages, events);
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain("(awaiting-health) has had no health re-check queued");
    expect(violations[1]).toContain("(bootstrapping) has had no command re-check queued");
  });

  it("counts the command's status event for a wait that bootstraps or sends, and either step's re-check for one that sends", () => {
    const { chains, violations } = audit();
    const status = JSON.stringify({ resources: ["i-0aaaaaaaaaaaaaaaa"], detail: { "command-id": "cmd-1" } });
    const bootstrapping = [wait("bootstrapping", "i-0aaaaaaaaaaaaaaaa", { commandId: "cmd-1" })];
    chains.check(0, bootstrapping, [], { pending: [status], failed: [] });
    chains.check(GRACE_MS + 1, bootstrapping, [], { pending: [status], failed: [] });
    const sending = [wait("sending-command")];
    chains.check(2 * GRACE_MS, sending, [], { pending: [status], failed: [] });
    chains.check(3 * GRACE_MS, sending, [queued(recheck("command"))], noEvents);
    chains.check(4 * GRACE_MS, sending, [queued(recheck("agent"))], noEvents);
    expect(violations).toEqual([]);
  });

  it("does not count another wait's re-check, or a watch's hand-on", () => {
    const { chains, violations } = audit();
    const others = [
      queued(recheck("health", "i-0bbbbbbbbbbbbbbbb")),
      queued(JSON.stringify({ watch: "health", groupName: "g", chain: "c", hop: 1 })),
    ];
    chains.check(0, [wait("awaiting-health")], others, noEvents);
    chains.check(GRACE_MS + 1, [wait("awaiting-health")], others, noEvents);
    expect(violations).toHaveLength(1);
  });

  it("starts over when the wait is driven again within the grace", () => {
    const { chains, violations } = audit();
    chains.check(0, [wait("awaiting-agent")], [], noEvents);
    chains.check(GRACE_MS - 1000, [wait("awaiting-agent")], [queued(recheck("agent"))], noEvents);
    chains.check(GRACE_MS + 1000, [wait("awaiting-agent")], [], noEvents);
    expect(violations).toEqual([]);
  });

  it("leaves to the reconciler a wait whose re-check went to the dead-letter queue or whose event failed every retry", () => {
    const { chains, violations } = audit();
    chains.deadLetter(recheck("agent"));
    const failedEvent = JSON.stringify({ detail: { EC2InstanceId: "i-0bbbbbbbbbbbbbbbb", token: "tok" } });
    const waits = [wait("awaiting-agent"), wait("awaiting-agent", "i-0bbbbbbbbbbbbbbbb")];
    chains.check(0, waits, [], { pending: [], failed: [failedEvent] });
    chains.check(GRACE_MS + 1, waits, [], { pending: [], failed: [failedEvent] });
    expect(violations).toEqual([]);
  });

  it("audits a wait handed to the reconciler again once its record moved on", () => {
    const { chains, violations } = audit();
    chains.deadLetter(recheck("agent"));
    chains.check(0, [wait("awaiting-agent")], [], noEvents);
    chains.check(GRACE_MS + 1, [wait("awaiting-agent")], [], noEvents);
    expect(violations).toEqual([]);
    // The reconciler restarted it, and that chain ended in turn: nothing hands it on this time.
    const movedOn = [wait("bootstrapping", "i-0aaaaaaaaaaaaaaaa", { version: 5 })];
    chains.check(2 * GRACE_MS, movedOn, [], noEvents);
    chains.check(3 * GRACE_MS + 1, movedOn, [], noEvents);
    expect(violations).toHaveLength(1);
  });

  it("audits only the phases a chain drives", () => {
    const { chains, violations } = audit();
    const waits = ["sighted", "continued", "abandoned", "gone", ""].map((phase, i) =>
      wait(phase, `i-0${String(i).repeat(16)}`),
    );
    chains.check(0, waits, [], noEvents);
    chains.check(GRACE_MS + 1, waits, [], noEvents);
    expect(violations).toEqual([]);
  });
});

describe("the chain audit: the reconciler restarts only chains that are not healthy", () => {
  it("reports a restart while the same step's re-check waits out its delay or is being handled", () => {
    const { chains, violations } = audit();
    chains.restarted(recheck("agent"), [queued(recheck("agent"))], "awaiting-agent");
    chains.restarted(recheck("health"), [queued(recheck("health"), 1, true)], "awaiting-health");
    expect(violations).toHaveLength(2);
    expect(violations[0]).toContain("restarted the healthy agent chain of i-0aaaaaaaaaaaaaaaa/tok");
    expect(violations[1]).toContain("being handled");
  });

  it("lets it restart a chain whose re-check failed and waits to come back, or is of another step", () => {
    const { chains, violations } = audit();
    chains.restarted(recheck("command"), [queued(recheck("command"), 2)], "bootstrapping");
    chains.restarted(recheck("health"), [queued(recheck("command"))], "awaiting-health");
    expect(violations).toEqual([]);
  });

  it("lets it restart a chain that is retrying a failed round: received again, or a fast retry", () => {
    const { chains, violations } = audit();
    const retry = JSON.stringify({
      step: "agent",
      instanceId: "i-0aaaaaaaaaaaaaaaa",
      token: "tok",
      attempt: 2,
    });
    chains.restarted(recheck("agent"), [queued(recheck("agent"), 2, true)], "awaiting-agent");
    chains.restarted(recheck("agent"), [queued(retry)], "awaiting-agent");
    chains.restarted(recheck("agent"), [queued(retry, 1, true)], "awaiting-agent");
    expect(violations).toEqual([]);
    // A first receipt being handled is a chain at work, not a retry.
    chains.restarted(recheck("agent"), [queued(recheck("agent"), 1, true)], "awaiting-agent");
    expect(violations).toHaveLength(1);
  });

  it("does not count adopting a wait it sighted (no chain yet) as a restart", () => {
    const { chains, violations } = audit();
    chains.restarted(recheck("agent"), [queued(recheck("agent"))], "sighted");
    chains.restarted(recheck("agent"), [queued(recheck("agent"))], undefined);
    expect(violations).toEqual([]);
  });
});

describe("the chain audit in a simulated run", () => {
  /** The scale-out, with `action` done at `atSeconds` (while both launches bootstrap). */
  async function scaleOutWith(atSeconds: number, action: (world: World) => void): Promise<readonly string[]> {
    const base = scenarioNamed("scale-out");
    const world = await World.create({
      ...base,
      actions: [{ atSeconds, describe: "fault for the chain audit", run: action }],
    });
    await world.run();
    return collectResults(world).violations;
  }

  const bootstrappingIds = (world: World) =>
    [...world.asg.instances.values()]
      .filter((instance) => instance.state === "Pending:Wait")
      .map((instance) => instance.id);

  it("the unchanged scale-out breaks no invariant", async () => {
    await expect(scaleOutWith(100, () => undefined)).resolves.toEqual([]);
  });

  it("catches a wait whose chain ended: its command re-check lost while it bootstraps", async () => {
    const violations = await scaleOutWith(100, (world) => {
      const ids = bootstrappingIds(world);
      expect(ids.length).toBeGreaterThan(0);
      const lost = world.sqs.loseMessages((body) => ids.some((id) => body.includes(id)));
      expect(lost).toBeGreaterThan(0);
    });
    expect(violations.some((v) => /\(bootstrapping\) has had no command re-check queued/.test(v))).toBe(true);
  });

  it("catches the reconciler restarting a healthy chain: a record made to look long silent", async () => {
    const violations = await scaleOutWith(100, (world) => {
      const table = world.tableFromOutput("GateStateTable");
      const longAgo = { N: String(world.startedAt - 3_600_000) };
      for (const item of world.dynamodb.items(table)) {
        if (item.phase?.S !== "bootstrapping") continue;
        item.phaseStartedAt = longAgo;
        item.chainSeenAt = longAgo;
      }
    });
    expect(violations.some((v) => v.includes("restarted the healthy command chain"))).toBe(true);
  });
});
