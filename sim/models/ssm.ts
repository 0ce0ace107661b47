import type {
  DescribeInstanceInformationCommandInput,
  DescribeInstanceInformationCommandOutput,
  GetCommandInvocationCommandInput,
  GetCommandInvocationCommandOutput,
  ListCommandsCommandInput,
  ListCommandsCommandOutput,
  SendCommandCommandInput,
  SendCommandCommandOutput,
} from "@aws-sdk/client-ssm";
import { COMMAND_INVOCATION_DETAIL_TYPE } from "../../shared/events/patterns.js";
import { awsError } from "../aws/sdk-errors.js";
import type { DeployedDocument } from "../deploy/deployment.js";
import type { WorldContext } from "../world-context.js";
import type { SimInstance } from "./auto-scaling.js";

/**
 * SIMULATION — SSM Run Command (docs/aws-facts.md, SSM Run Command):
 * - the agent registers after the instance's scripted delay (or never); before that SendCommand fails
 *   with InvalidInstanceId;
 * - GetCommandInvocation says InvocationDoesNotExist for a moment after SendCommand (eventual
 *   consistency; 2 s here, a guess);
 * - a command runs for its scripted duration and ends Success / Failed, or TimedOut at the document's
 *   execution timeout; each status change is an EventBridge event (delivery may be faulted);
 * - GetCommandInvocation's StatusDetails are the API's: Pending, InProgress, Success, Failed, and
 *   ExecutionTimedOut for a timeout (its Status TimedOut); CloudWatchOutputConfig is echoed back as sent;
 * - output is what bootstrap.sh prints: one line per step, "launchgate: FAILED step X (exit 1)" last;
 * - bootstrap.sh takes a lock on the instance: a second command waits for the first to finish (up to
 *   its 900 s lock wait, then fails at step `lock`), so two overlapping bootstraps run one after the other.
 * - the `drain` phase (scale-in) takes no lock: it signals the app and waits for its sessions to end,
 *   which take the scenario's next `drain.sessionSeconds` (else drawn, 5–40 s, a guess), then stops the
 *   containers (Success); sessions that outlast the drain limit are cut there: Failed, "drain overran
 *   its limit" (exit 3), as bootstrap.sh does. Invariant: no instance is terminated while its drain
 *   command still runs, unless the limit passed since it began to wait at the terminate hook.
 */

/** Drains as a scenario scripts them: the limit (groups[].drain.timeoutSeconds) and each drain's sessions. */
export interface DrainScript {
  readonly limitSeconds: number;
  /** How long the sessions of the 1st, 2nd, … drain command take to end; beyond the list: drawn. */
  readonly sessionSeconds?: readonly number[];
}

interface SimCommand {
  readonly id: string;
  readonly instance: SimInstance;
  readonly documentName: string;
  readonly comment: string;
  readonly visibleAt: number;
  readonly requestedAt: number;
  status: "Pending" | "InProgress" | "Success" | "Failed" | "TimedOut";
  /** Why it is in that status, as GetCommandInvocation says it (docs/aws-facts.md, SSM Run Command). */
  statusDetails: string;
  readonly cloudWatchOutput?: {
    readonly CloudWatchLogGroupName?: string;
    readonly CloudWatchOutputEnabled?: boolean;
  };
  stdout: string;
  stderr: string;
  /** A drain (scale-in) command, not a bootstrap. */
  readonly drain?: boolean;
}

export interface SsmPeers {
  emit(event: Record<string, unknown>): void;
  appStarted(instance: SimInstance): void;
  /** A command was accepted for an instance (with its comment), before it runs. */
  commandSent(instance: SimInstance, comment: string, documentName: string): void;
}

/** bootstrap.sh's LAUNCHGATE_LOCK_WAIT_SECONDS default. */
const LOCK_WAIT_SECONDS = 900;

const STEPS = [
  "lock",
  "install-docker",
  "install-compose",
  "ecr-login",
  "pull-images",
  "write-env",
  "compose-up",
  "health-check",
];

/** The steps only `prepare`, and only `start`, runs (bootstrap/bootstrap.sh). */
const PREPARE_STEPS: ReadonlySet<string> = new Set(["pull-images"]);
const START_STEPS: ReadonlySet<string> = new Set(["write-env", "compose-up", "health-check"]);

/**
 * The part of a whole bootstrap's scripted duration that `start` takes on a prepared instance (secrets,
 * compose up from local images, local health): a guess, 10 % and at least 5 s; `prepare` takes the rest.
 */
const START_SHARE = 0.1;
/**
 * A start out of the warm pool also logs in to ECR and pulls the services whose image can move (a
 * manifest check each, when no tag moved; bootstrap/bootstrap.sh, prepare_if_outdated): a guess.
 */
const WARM_START_PULL_SECONDS = 3;

function phaseSeconds(seconds: number, phase: "all" | "prepare" | "start" | undefined): number {
  const start = Math.max(5, Math.round(seconds * START_SHARE));
  if (phase === "start") return start + WARM_START_PULL_SECONDS;
  if (phase === "prepare") return Math.max(1, seconds - start);
  return seconds;
}

/**
 * The phase of a launch's command (trigger `launch`), which a warm pool splits in two. An operation's
 * command (re-bootstrap, remediation) keeps the whole scripted duration, as its scenarios expect.
 */
function launchPhase(
  parameters: Record<string, string[]> | undefined,
): "all" | "prepare" | "start" | undefined {
  if ((parameters?.trigger?.[0] ?? "launch") !== "launch") return undefined;
  const phase = parameters?.phase?.[0];
  return phase === "prepare" || phase === "start" ? phase : "all";
}

export class SsmModel {
  private readonly online = new Set<string>();
  readonly commands = new Map<string, SimCommand>();
  /** Until when each instance's bootstrap lock is held by the commands sent so far. */
  private readonly lockedUntil = new Map<string, number>();
  /** How drains behave; set by a scenario with a draining group. Absent: the document's timeout bounds them. */
  drain: DrainScript | undefined;
  private drainsSent = 0;

  constructor(
    private readonly world: WorldContext,
    private readonly peers: SsmPeers,
    /** The documents the stack deployed, by name: their parameters' constraints and execution timeout. */
    private readonly documents: ReadonlyMap<string, DeployedDocument>,
    /** How many versions each document has, and which fail (a bad deploy). */
    private readonly versions: { readonly count: number; readonly failing?: readonly number[] } = {
      count: 1,
    },
  ) {}

  /** An instance serving before the scenario starts: its agent is already Online. */
  instanceServing(instance: SimInstance): void {
    this.online.add(instance.id);
  }

  instanceLaunched(instance: SimInstance): void {
    const delay = instance.behaviour.agentOnlineAfterSeconds;
    if (delay === null) return;
    this.world.clock.after(delay * 1000, () => {
      if (instance.state.startsWith("Terminat")) return;
      this.online.add(instance.id);
      this.world.note("ssm", "SSM agent Online", instance.id);
    });
  }

  instanceTerminated(instance: SimInstance): void {
    this.online.delete(instance.id);
    if (instance.state !== "Terminated") return; // stopped in the warm pool: not a termination
    const limitMs = (this.drain?.limitSeconds ?? 0) * 1000;
    for (const command of this.commands.values()) {
      if (command.instance !== instance || !command.drain) continue;
      if (command.status !== "Pending" && command.status !== "InProgress") continue;
      const since = instance.terminateWaitAt ?? command.requestedAt;
      if (this.world.clock.now() < since + limitMs)
        this.world.violation(
          `${instance.id} was terminated while its drain command ${command.id.slice(0, 8)} still ran, before its limit`,
        );
    }
  }

  /** A serving instance's agent stops answering (crashed, or its route to SSM broke): a fault. */
  agentLost(instanceId: string): void {
    this.online.delete(instanceId);
    this.world.note("fault", "SSM agent lost (ConnectionLost)", instanceId);
  }

  describeInstanceInformation(
    input: DescribeInstanceInformationCommandInput,
  ): DescribeInstanceInformationCommandOutput {
    const ids = input.Filters?.find((filter) => filter.Key === "InstanceIds")?.Values ?? [];
    return {
      $metadata: {},
      InstanceInformationList: ids
        .filter((id) => this.online.has(id))
        .map((id) => ({ InstanceId: id, PingStatus: "Online" })),
    };
  }

  sendCommand(
    input: SendCommandCommandInput,
    instances: ReadonlyMap<string, SimInstance>,
  ): SendCommandCommandOutput {
    const documentName = input.DocumentName ?? "";
    const document = this.documents.get(documentName);
    if (document === undefined) throw awsError("InvalidDocument", `document ${documentName} does not exist`);
    // $DEFAULT is modelled as the latest too (what CloudFormation makes the default on an update is
    // not modelled: launchgate sends $LATEST or a number).
    const requested = input.DocumentVersion ?? "$DEFAULT";
    const version = requested.startsWith("$") ? this.versions.count : Number(requested);
    if (!Number.isInteger(version) || version < 1 || version > this.versions.count)
      throw awsError("InvalidDocumentVersion", `document ${documentName} has no version ${requested}`);
    const timeoutSeconds = document.executionTimeoutSeconds;
    for (const [name, values] of Object.entries(input.Parameters ?? {})) {
      const constraint = document.parameters[name];
      const pattern =
        constraint?.allowedPattern === undefined ? undefined : new RegExp(constraint.allowedPattern);
      const fits = (value: string) =>
        (constraint?.allowedValues?.includes(value) ?? true) && (pattern?.test(value) ?? true);
      if (!constraint || !values.every(fits)) {
        throw awsError(
          "InvalidParameters",
          `parameter ${name}=${values.join(",")} is not allowed by the document`,
        );
      }
    }
    const ids = input.InstanceIds ?? [];
    const targets = ids.map((id) => instances.get(id));
    if (targets.some((instance) => !instance || !this.online.has(instance.id))) {
      throw awsError("InvalidInstanceId", "Instances not in a valid state for account");
    }
    const id = `${this.world.random.hex(8)}-${this.world.random.hex(4)}-${this.world.random.hex(4)}-${this.world.random.hex(12)}`;
    for (const instance of targets as SimInstance[]) {
      this.peers.commandSent(instance, input.Comment ?? "", documentName);
      if (input.Parameters?.phase?.[0] === "drain") {
        this.runDrain(id, instance, documentName, input.Comment ?? "", timeoutSeconds);
        continue;
      }
      this.run(
        id,
        instance,
        documentName,
        input.Comment ?? "",
        timeoutSeconds,
        input.CloudWatchOutputConfig,
        version,
        launchPhase(input.Parameters),
      );
    }
    return { $metadata: {}, Command: { CommandId: id, DocumentName: documentName, Status: "Pending" } };
  }

  /** An instance's commands since `InvokedAfter`, newest first, in pages of MaxResults. */
  listCommands(input: ListCommandsCommandInput): ListCommandsCommandOutput {
    const after = input.Filters?.find((f) => f.key === "InvokedAfter")?.value;
    const since = after === undefined ? 0 : Date.parse(after);
    // Filtered by instance, a command not yet delivered to it (Pending) is not listed (UNCONFIRMED:
    // the API refuses InstanceId with a Pending status filter; this model takes the cautious reading).
    const matching = [...this.commands.values()]
      .filter((c) => !input.InstanceId || (c.instance.id === input.InstanceId && c.status !== "Pending"))
      .filter((c) => c.requestedAt >= since)
      .sort((a, b) => b.requestedAt - a.requestedAt);
    const start = Number(input.NextToken ?? 0);
    const size = input.MaxResults ?? 50;
    const page = matching.slice(start, start + size);
    return {
      $metadata: {},
      Commands: page.map((c) => ({
        CommandId: c.id,
        Comment: c.comment,
        DocumentName: c.documentName,
        InstanceIds: [c.instance.id],
        RequestedDateTime: new Date(c.requestedAt),
        Status: c.status,
      })),
      NextToken: start + size < matching.length ? String(start + size) : undefined,
    };
  }

  getCommandInvocation(input: GetCommandInvocationCommandInput): GetCommandInvocationCommandOutput {
    const command = this.commands.get(`${input.CommandId}/${input.InstanceId}`);
    if (!command || this.world.clock.now() < command.visibleAt) {
      throw awsError("InvocationDoesNotExist", "InvocationDoesNotExist");
    }
    return {
      $metadata: {},
      CommandId: command.id,
      InstanceId: command.instance.id,
      DocumentName: command.documentName,
      Comment: command.comment,
      Status: command.status,
      StatusDetails: command.statusDetails,
      StandardOutputContent: command.stdout,
      StandardErrorContent: command.stderr,
      ...(command.cloudWatchOutput ? { CloudWatchOutputConfig: command.cloudWatchOutput } : {}),
    };
  }

  private run(
    id: string,
    instance: SimInstance,
    documentName: string,
    comment: string,
    timeoutSeconds: number,
    cloudWatchOutput: SimCommand["cloudWatchOutput"],
    version: number,
    /** A launch's phase (warm pools: prepare, start); absent for an operation's command. */
    phase?: "all" | "prepare" | "start",
  ): void {
    const now = this.world.clock.now();
    const command: SimCommand = {
      id,
      instance,
      documentName,
      comment,
      visibleAt: now + 2000,
      requestedAt: now,
      status: "Pending",
      statusDetails: "Pending",
      ...(cloudWatchOutput ? { cloudWatchOutput } : {}),
      stdout: "",
      stderr: "",
    };
    this.commands.set(`${id}/${instance.id}`, command);
    this.world.note("ssm", `bootstrap command ${id.slice(0, 8)} received`, instance.id);
    this.world.clock.after(1000, () => this.setStatus(command, "InProgress"));
    const bad = this.versions.failing?.includes(version) ?? false;
    const bootstrap: typeof instance.behaviour.bootstrap = bad
      ? {
          outcome: "Failed",
          seconds: 60,
          failedStep: "pull-images",
          stderr: `Error response from daemon: manifest unknown (document version ${version})`,
        }
      : instance.behaviour.bootstrap;
    const waitForLock = Math.max(0, (this.lockedUntil.get(instance.id) ?? 0) - now);
    if (waitForLock > LOCK_WAIT_SECONDS * 1000) {
      this.world.clock.after(LOCK_WAIT_SECONDS * 1000, () => {
        command.stdout = "launchgate: step lock\n";
        command.stderr = `launchgate: another bootstrap held the lock for ${LOCK_WAIT_SECONDS}s\nlaunchgate: FAILED step lock (exit 1)\n`;
        this.setStatus(command, "Failed");
      });
      return;
    }
    if (bootstrap.outcome === "Hang") {
      this.lockedUntil.set(instance.id, now + timeoutSeconds * 1000);
      this.world.clock.after(timeoutSeconds * 1000, () => this.setStatus(command, "TimedOut"));
      return;
    }
    const runMs = waitForLock + phaseSeconds(bootstrap.seconds, phase) * 1000;
    this.lockedUntil.set(instance.id, now + runMs);
    this.world.clock.after(runMs, () => {
      if (instance.state.startsWith("Terminat")) return;
      if (bootstrap.outcome === "Success") {
        const skipped = phase === "prepare" ? START_STEPS : phase === "start" ? PREPARE_STEPS : undefined;
        const steps = STEPS.filter((step) => !skipped?.has(step));
        command.stdout = `${steps.map((step) => `launchgate: step ${step}`).join("\n")}\nlaunchgate: bootstrap finished (phase ${phase ?? "all"})\n`;
        // A warm pool's prepare installs and pulls: the app does not run until `start`.
        if (phase !== "prepare") this.peers.appStarted(instance);
        this.setStatus(command, "Success");
      } else {
        const upTo = STEPS.slice(0, STEPS.indexOf(bootstrap.failedStep) + 1);
        command.stdout = `${upTo.map((step) => `launchgate: step ${step}`).join("\n")}\n`;
        command.stderr = `${bootstrap.stderr}\nlaunchgate: FAILED step ${bootstrap.failedStep} (exit 1)\n`;
        this.setStatus(command, "Failed");
      }
    });
  }

  /** The drain phase: sessions end (or the limit cuts them), then the containers stop. */
  private runDrain(
    id: string,
    instance: SimInstance,
    documentName: string,
    comment: string,
    timeoutSeconds: number,
  ): void {
    const now = this.world.clock.now();
    const command: SimCommand = {
      id,
      instance,
      documentName,
      comment,
      visibleAt: now + 2000,
      requestedAt: now,
      status: "Pending",
      statusDetails: "Pending",
      stdout: "",
      stderr: "",
      drain: true,
    };
    this.commands.set(`${id}/${instance.id}`, command);
    const scripted = this.drain?.sessionSeconds?.[this.drainsSent];
    this.drainsSent += 1;
    const sessions = scripted ?? Math.round(this.world.random.uniform(5, 40));
    const limit = Math.min(this.drain?.limitSeconds ?? timeoutSeconds, timeoutSeconds);
    this.world.note(
      "ssm",
      `drain command ${id.slice(0, 8)} received (sessions end in ${sessions} s)`,
      instance.id,
    );
    this.world.clock.after(1000, () => this.setStatus(command, "InProgress"));
    const overruns = sessions > limit;
    this.world.clock.after((overruns ? limit : sessions) * 1000 + 1000, () => {
      if (instance.state === "Terminated") return;
      const head = "launchgate: step settings\nlaunchgate: step drain\n";
      if (overruns) {
        command.stdout = `${head}launchgate: step stop-containers\nlaunchgate: drain overran its limit of ${limit}s: the containers still running were killed\nlaunchgate: FAILED step stop-containers (exit 3)\n`;
        this.setStatus(command, "Failed");
      } else {
        command.stdout = `${head}launchgate: the containers exited after ${sessions}s\nlaunchgate: step stop-containers\nlaunchgate: drain finished (phase drain)\n`;
        this.setStatus(command, "Success");
      }
    });
  }

  private setStatus(command: SimCommand, status: SimCommand["status"]): void {
    if (command.status === "Success" || command.status === "Failed" || command.status === "TimedOut") return;
    command.status = status;
    // A command that reached the agent can only time out at the document's execution timeout here.
    command.statusDetails = status === "TimedOut" ? "ExecutionTimedOut" : status;
    this.world.note("ssm", `${command.drain ? "drain" : "bootstrap"} ${status}`, command.instance.id);
    this.peers.emit({
      version: "0",
      id: `${this.world.random.hex(8)}-ssm`,
      "detail-type": COMMAND_INVOCATION_DETAIL_TYPE,
      source: "aws.ssm",
      account: "123456789012",
      time: new Date(this.world.clock.now()).toISOString(),
      region: "eu-west-2",
      resources: [`arn:aws:ec2:eu-west-2:123456789012:instance/${command.instance.id}`],
      detail: {
        "command-id": command.id,
        "document-name": command.documentName,
        "instance-id": command.instance.id,
        "requested-date-time": new Date(command.visibleAt - 2000).toISOString(),
        status,
      },
    });
  }
}
