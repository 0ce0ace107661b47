import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildDocumentContent } from "../../infra/bootstrap/document-content.js";
import { ROOT } from "../../scripts/functions.js";
import { parseConfig } from "../../shared/config/parse-config.js";
import type { CommandInvocation } from "../../shared/gate/bootstrap-command.js";

/**
 * A stand-in EC2 instance for the bootstrap document: runs the document's own runCommand — as SSM
 * would, with the parameters substituted, in a process group of its own — on this machine, with
 * stand-ins for docker, dnf, apt-get, systemctl, curl, aws, cloud-init, snap and uname first on PATH
 * (test/bootstrap-script/stand-ins). Only the instance directory, the lock, os-release and the plugin
 * and snap directories are moved into a temp folder (in the runCommand and in the compose file it
 * stages, whose env_file the docker stand-in checks); everything else (bash, flock, python3,
 * sha256sum, timeout, …) is the real tool.
 */

export const STAND_INS = join(ROOT, "test", "bootstrap-script", "stand-ins");

/** What the curl stand-in downloads as "docker compose", and so its SHA-256. */
export const FAKE_COMPOSE_BINARY = "#!/bin/sh\n";
export const FAKE_COMPOSE_SHA256 = createHash("sha256").update(FAKE_COMPOSE_BINARY).digest("hex");

/** SSM's GetCommandInvocation limits (docs/aws-facts.md, SSM Run Command). */
export const SSM_STDOUT_LIMIT = 24_000;
export const SSM_STDERR_LIMIT = 8_000;

export const SECRETS = [
  "livekit-secret-do-not-print-91c2",
  "db-password-do-not-print-44b1",
  "ecr-password-do-not-print-7f3a",
];

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface InstanceOptions {
  /** The os-release ID: amzn (the reference), ubuntu, or anything else. */
  readonly os?: string;
  /** The os-release VERSION_ID; the current release of `os` unless set. */
  readonly versionId?: string;
  /** The document's execution timeout (its step's timeoutSeconds); 60 unless set. */
  readonly executionTimeoutSeconds?: number;
  /** Stand-ins left off PATH, as if the tool were not installed (e.g. "aws", "cloud-init"). */
  readonly without?: readonly string[];
  /** `uname -m` (x86_64 unless set). */
  readonly arch?: string;
  /** Raw app config merged over the default group's; composeSha256 defaults to the fake binary's. */
  readonly app?: Record<string, unknown>;
  /** groups[].drain.timeoutSeconds of the document (the drain phase's limit); no drain unless set. */
  readonly drainTimeoutSeconds?: number;
  /** Extra environment for the script (e.g. shorter waits). */
  readonly env?: Record<string, string>;
}

export interface Instance {
  readonly dir: string;
  readonly state: string;
  readonly root: string;
  /** Runs the document with its `phase` (all unless set) and `trigger` (launch unless set). */
  run(phase?: string, trigger?: string): Promise<RunResult>;
  /** Starts a run; `kill()` SIGKILLs its whole process group, as SSM does at the execution timeout. */
  start(phase?: string, trigger?: string): { result: Promise<RunResult>; kill(): void };
  /**
   * Another version of the document on this same instance (as after a stack update): its config's `app`
   * merged over the default group's, like the instance's own. Runs as `run` does.
   */
  withDocument(app: Record<string, unknown>): Pick<Instance, "run">;
  calls(): string[];
  scenario(marker: string, content?: string): void;
  /** Files left in the instance directory, hidden ones included. */
  files(): string[];
  /** Every file under the instance directory and the plugin directory, with its content. */
  everyFile(): { path: string; content: string }[];
  /** The docker stand-in's container of `service`, if it has one: its id and start time. */
  container(service: string): Container | undefined;
  /** The app in the container of `service` hangs: docker still says running, the health check fails. */
  hang(service: string): void;
  /**
   * The registry now serves `build` for `image` (as compose names it, the registry interpolated): a new
   * push to a moving tag such as `:latest`, the compose file unchanged.
   */
  push(image: string, build: string): void;
}

export interface Container {
  readonly id: string;
  /** As `docker inspect` gives `.State.StartedAt`. */
  readonly startedAt: string;
  readonly hung: boolean;
  /** The build of its image it runs ("build-1" unless the registry had another when it was pulled). */
  readonly image: string;
}

const VERSION_IDS: Record<string, string> = { amzn: "2023", ubuntu: "24.04", debian: "12" };

export function instance(options: InstanceOptions = {}): Instance {
  const dir = mkdtempSync(join(tmpdir(), "launchgate-instance-"));
  const state = join(dir, "state");
  const root = join(dir, "opt-launchgate");
  const bin = join(dir, "bin");
  mkdirSync(state);
  mkdirSync(bin);
  for (const tool of readdirSync(STAND_INS)) {
    if (!options.without?.includes(tool)) symlinkSync(join(STAND_INS, tool), join(bin, tool));
  }
  const os = options.os ?? "amzn";
  writeFileSync(
    join(dir, "os-release"),
    `ID=${os}\nVERSION_ID="${options.versionId ?? VERSION_IDS[os] ?? "1"}"\n`,
  );
  const runCommand = documentRunCommand(
    root,
    options.app,
    options.executionTimeoutSeconds ?? 60,
    options.drainTimeoutSeconds,
  );
  const env = {
    // No /usr/local or user tool directories: a real AWS CLI or docker there must not stand in.
    PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`,
    STUB_STATE: state,
    STUB_ARCH: options.arch ?? "x86_64",
    LAUNCHGATE_ROOT: root,
    LAUNCHGATE_LOCK_FILE: join(dir, "launchgate.lock"),
    LAUNCHGATE_OS_RELEASE: join(dir, "os-release"),
    LAUNCHGATE_COMPOSE_PLUGIN_DIR: join(dir, "cli-plugins"),
    LAUNCHGATE_SNAP_BIN: join(dir, "snap-bin"),
    LAUNCHGATE_CLOUD_INIT_WAIT_SECONDS: "5",
    LAUNCHGATE_APT_RETRY_SECONDS: "0",
    LAUNCHGATE_APT_LOCK_WAIT_SECONDS: "30",
    ...options.env,
  };
  const script = (phase: string, trigger: string) =>
    runCommand.replaceAll("{{ phase }}", phase).replaceAll("{{ trigger }}", trigger);
  const containerDir = (service: string) => join(state, "containers", service);
  return {
    dir,
    state,
    root,
    run: (phase = "all", trigger = "launch") => startBash(script(phase, trigger), env).result,
    start: (phase = "all", trigger = "launch") => startBash(script(phase, trigger), env),
    withDocument: (app) => {
      const other = documentRunCommand(root, app, options.executionTimeoutSeconds ?? 60);
      return {
        run: (phase = "all", trigger = "launch") =>
          startBash(other.replaceAll("{{ phase }}", phase).replaceAll("{{ trigger }}", trigger), env).result,
      };
    },
    calls: () =>
      existsSync(join(state, "calls.log"))
        ? readFileSync(join(state, "calls.log"), "utf8").trim().split("\n")
        : [],
    scenario: (marker, content = "") => writeFileSync(join(state, marker), content),
    files: () => (existsSync(root) ? readdirSync(root) : []),
    everyFile: () =>
      [root, join(dir, "cli-plugins")].flatMap((top) =>
        existsSync(top)
          ? readdirSync(top, { recursive: true, encoding: "utf8" })
              .map((name) => join(top, name))
              .filter((path) => statSync(path).isFile())
              .map((path) => ({ path, content: readFileSync(path, "latin1") }))
          : [],
      ),
    container: (service) => {
      const at = containerDir(service);
      if (!existsSync(join(at, "id"))) return undefined;
      const read = (name: string) => readFileSync(join(at, name), "utf8").trim();
      return {
        id: read("id"),
        startedAt: read("started"),
        hung: existsSync(join(at, "hung")),
        image: read("image"),
      };
    },
    hang: (service) => {
      if (!existsSync(join(containerDir(service), "id"))) throw new Error(`no container for ${service}`);
      writeFileSync(join(containerDir(service), "hung"), "");
    },
    push: (image, build) => {
      mkdirSync(join(state, "registry"), { recursive: true });
      writeFileSync(join(state, "registry", image.replaceAll(/[/:]/g, "_")), `${build}\n`);
    },
  };
}

/**
 * The document's runCommand for the default group, with `app` merged over its config and the instance
 * directory moved to `root` — in the staged compose file too, which names the env file by its path.
 */
function documentRunCommand(
  root: string,
  app: Record<string, unknown> = {},
  executionTimeoutSeconds = 60,
  drainTimeoutSeconds?: number,
): string {
  const defaults = parseConfig({}).groups[0];
  if (!defaults) throw new Error("default config has a group");
  const config = parseConfig({
    groups: [
      {
        name: defaults.name,
        targetGroups: [...defaults.targetGroups],
        app: { composeSha256: { x86_64: FAKE_COMPOSE_SHA256, aarch64: FAKE_COMPOSE_SHA256 }, ...app },
      },
    ],
  });
  const group = config.groups[0];
  if (!group) throw new Error("config has a group");
  const document = buildDocumentContent({
    groupName: group.name,
    region: config.region,
    app: group.app,
    executionTimeoutSeconds,
    ...(drainTimeoutSeconds === undefined ? {} : { drainTimeoutSeconds }),
  });
  const lines = document.mainSteps[0]?.inputs.runCommand ?? [];
  return lines
    .map((line) => (line.endsWith('> "$run_dir/compose.yaml"') ? movedPayload(line, root) : line))
    .join("\n")
    .replaceAll("/opt/launchgate", root);
}

/** A `printf '%s' '<base64>' | base64 -d > FILE` line with /opt/launchgate moved to `root` in FILE. */
function movedPayload(line: string, root: string): string {
  const payload = /^printf '%s' '([A-Za-z0-9+/=]+)'/.exec(line)?.[1];
  if (!payload) throw new Error(`not a staged file: ${line.slice(0, 80)}`);
  const moved = Buffer.from(payload, "base64").toString("utf8").replaceAll("/opt/launchgate", root);
  return line.replace(payload, Buffer.from(moved).toString("base64"));
}

/** Process groups of runs still going: a test that times out must not leave its run behind. */
const running = new Set<number>();

/** SIGKILLs every run still going (for afterEach in tests whose runs could hang without a fix). */
export function killRunning(): void {
  for (const pid of running) {
    try {
      process.kill(-pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** Runs the script as SSM does: in a process group of its own, which `kill` ends with SIGKILL. */
function startBash(script: string, env: Record<string, string>) {
  const child = spawn("bash", ["-c", script], { env, stdio: ["ignore", "pipe", "pipe"], detached: true });
  if (child.pid) running.add(child.pid);
  const result = new Promise<RunResult>((resolve) => {
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
    });
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    child.on("close", (code) => {
      if (child.pid) running.delete(child.pid);
      resolve({ code, stdout, stderr });
    });
  });
  return {
    result,
    kill: () => {
      if (child.pid) process.kill(-child.pid, "SIGKILL");
    },
  };
}

/** launchgate's step lines, in order. */
export function stepsOf(result: RunResult): string[] {
  return result.stdout
    .split("\n")
    .filter((line) => line.startsWith("launchgate: step "))
    .map((line) => line.slice("launchgate: step ".length));
}

/** The last line of stdout: where the script names the step that failed. */
export function lastLine(text: string): string | undefined {
  return text.trim().split("\n").at(-1);
}

/** What the SSM agent puts at the end of a stream it cut (amazon-ssm-agent, pluginutil.StringPrefix). */
const TRUNCATED = "--output truncated--";

/**
 * What GetCommandInvocation would return for this run: SSM keeps only the first 24,000 characters of
 * stdout and 8,000 of stderr, the cut stream ending in the agent's suffix within that limit.
 */
export function asInvocation(
  result: RunResult,
  status = result.code === 0 ? "Success" : "Failed",
): CommandInvocation {
  const cut = (text: string, limit: number) =>
    text.length >= limit ? `${text.slice(0, limit - TRUNCATED.length)}${TRUNCATED}` : text;
  return {
    status,
    statusDetails: status,
    terminal: true,
    succeeded: status === "Success",
    stdout: cut(result.stdout, SSM_STDOUT_LIMIT),
    stderr: cut(result.stderr, SSM_STDERR_LIMIT),
    comment: "",
  };
}
