import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  BOOTSTRAP_STEP_NAME,
  composeChecksums,
  ECR_REGISTRY_PLACEHOLDER,
} from "../../shared/config/defaults.js";
import type { AppConfig } from "../../shared/config/schema.js";
import { ROOT } from "../constructs/function-code.js";
import { renderComposeFile } from "./compose-file.js";
import { repullServices } from "./image-pinning.js";

export const BOOTSTRAP_SCRIPT_PATH = join(ROOT, "bootstrap", "bootstrap.sh");
/** Turns the Parameter Store listing into the compose env file (see bootstrap/write-env.py). */
export const ENV_WRITER_PATH = join(ROOT, "bootstrap", "write-env.py");
const INSTANCE_DIR = "/opt/launchgate";
/** Each command's own files, staged until its run holds the lock (bootstrap.sh moves them into place). */
const RUNS_DIR = `${INSTANCE_DIR}/runs`;

/** The document's parameters: fixed value lists only, so nothing reaching the shell is free text. */
export const DOCUMENT_PARAMETERS = {
  phase: {
    type: "String",
    description:
      "prepare: install and pull (warm pool). start: secrets, compose up, local health. all: both. drain: stop the app gracefully (scale-in).",
    allowedValues: ["all", "prepare", "start", "drain"],
    default: "all",
  },
  trigger: {
    type: "String",
    description: "Why the bootstrap runs; recorded in the command's output.",
    allowedValues: ["launch", "rebootstrap", "remediate", "scale-in"],
    default: "launch",
  },
} as const;

export interface DocumentInput {
  readonly groupName: string;
  readonly region: string;
  readonly app: AppConfig;
  readonly executionTimeoutSeconds: number;
  /** groups[].drain.timeoutSeconds; absent: the group does not drain (no DRAIN_TIMEOUT_SECONDS setting). */
  readonly drainTimeoutSeconds?: number;
}

/** The schema-2.2 SSM Command document that bootstraps one group's instances. */
export function buildDocumentContent(input: DocumentInput) {
  const files = {
    "bootstrap.sh": readFileSync(BOOTSTRAP_SCRIPT_PATH, "utf8"),
    "write-env.py": readFileSync(ENV_WRITER_PATH, "utf8"),
    "compose.yaml": renderComposeFile(input.app),
    "settings.env": renderSettings(input),
  };
  const runCommand = [
    "#!/bin/bash",
    "set -euo pipefail",
    `install -d -m 0755 ${INSTANCE_DIR}`,
    `install -d -m 0700 ${RUNS_DIR}`,
    // A directory of this command's own: a run still holding the lock keeps reading its own files, and
    // this run's files replace the live ones only once it holds the lock (bootstrap.sh, install-files).
    `run_dir=$(mktemp -d ${RUNS_DIR}/run.XXXXXXXX)`,
    ...Object.entries(files).map(
      ([name, content]) =>
        `printf '%s' '${Buffer.from(content).toString("base64")}' | base64 -d > "$run_dir/${name}"`,
    ),
    `exec bash "$run_dir/bootstrap.sh" --stage "$run_dir" --phase '{{ phase }}' --trigger '{{ trigger }}'`,
  ];
  return {
    schemaVersion: "2.2",
    description: `launchgate bootstrap for Auto Scaling group ${input.groupName}: Docker, compose project ${input.app.projectName}, local health check.`,
    parameters: DOCUMENT_PARAMETERS,
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: BOOTSTRAP_STEP_NAME,
        precondition: { StringEquals: ["platformType", "Linux"] },
        inputs: { timeoutSeconds: String(input.executionTimeoutSeconds), runCommand },
      },
    ],
  };
}

/** KEY=value settings read (not sourced) by bootstrap.sh; every value was validated by the config schema. */
export function renderSettings(input: DocumentInput): string {
  const { app } = input;
  const checksums = composeChecksums(app);
  const settings: Record<string, string> = {
    PROJECT: app.projectName,
    HEALTH_URL: app.healthCheckUrl,
    HEALTH_TIMEOUT_SECONDS: String(app.healthCheckTimeoutSeconds),
    SECRETS_PATH: app.secretsParameterPath,
    AWS_REGION_NAME: input.region,
    COMPOSE_VERSION: app.composeVersion,
    // Empty for an architecture nobody pinned: the bootstrap then refuses to download for it.
    COMPOSE_SHA256_X86_64: checksums.x86_64 ?? "",
    COMPOSE_SHA256_AARCH64: checksums.aarch64 ?? "",
    USES_ECR: String(
      app.services.some((service) => service.image.startsWith(`${ECR_REGISTRY_PLACEHOLDER}/`)),
    ),
    // The services a start out of the warm pool pulls again (their image can move); none: no pull.
    REPULL_SERVICES: repullServices(app.services).join(" "),
    // The step's own timeoutSeconds: the script ends every wait a margin before SSM kills it.
    EXECUTION_TIMEOUT_SECONDS: String(input.executionTimeoutSeconds),
    // The drain phase's limit: how long sessions may take to end.
    ...(input.drainTimeoutSeconds === undefined
      ? {}
      : { DRAIN_TIMEOUT_SECONDS: String(input.drainTimeoutSeconds) }),
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")}\n`;
}
