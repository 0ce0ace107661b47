import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ECR_REGISTRY_PLACEHOLDER } from "../../shared/config/defaults.js";
import type { AppConfig } from "../../shared/config/schema.js";
import { ROOT } from "../constructs/function-code.js";
import { renderComposeFile } from "./compose-file.js";

export const BOOTSTRAP_SCRIPT_PATH = join(ROOT, "bootstrap", "bootstrap.sh");
const INSTANCE_DIR = "/opt/launchgate";

/** The document's parameters: fixed value lists only, so nothing reaching the shell is free text. */
export const DOCUMENT_PARAMETERS = {
  phase: {
    type: "String",
    description:
      "prepare: install and pull (warm pool). start: secrets, compose up, local health. all: both.",
    allowedValues: ["all", "prepare", "start"],
    default: "all",
  },
  trigger: {
    type: "String",
    description: "Why the bootstrap runs; recorded in the command's output.",
    allowedValues: ["launch", "rebootstrap", "remediate"],
    default: "launch",
  },
} as const;

export interface DocumentInput {
  readonly groupName: string;
  readonly region: string;
  readonly app: AppConfig;
  readonly executionTimeoutSeconds: number;
}

/** The schema-2.2 SSM Command document that bootstraps one group's instances. */
export function buildDocumentContent(input: DocumentInput) {
  const files = {
    "bootstrap.sh": readFileSync(BOOTSTRAP_SCRIPT_PATH, "utf8"),
    "compose.yaml": renderComposeFile(input.app),
    "settings.env": renderSettings(input),
  };
  const runCommand = [
    "#!/bin/bash",
    "set -euo pipefail",
    `install -d -m 0755 ${INSTANCE_DIR}`,
    // Each file is written under a temporary name and moved into place: a run holding the lock never
    // reads a half-written file, and bash keeps reading the script it started with.
    ...Object.entries(files).map(
      ([name, content]) =>
        `printf '%s' '${Buffer.from(content).toString("base64")}' | base64 -d > ${INSTANCE_DIR}/${name}.$$ && mv -f ${INSTANCE_DIR}/${name}.$$ ${INSTANCE_DIR}/${name}`,
    ),
    `exec bash ${INSTANCE_DIR}/bootstrap.sh --phase '{{ phase }}' --trigger '{{ trigger }}'`,
  ];
  return {
    schemaVersion: "2.2",
    description: `launchgate bootstrap for Auto Scaling group ${input.groupName}: Docker, compose project ${input.app.projectName}, local health check.`,
    parameters: DOCUMENT_PARAMETERS,
    mainSteps: [
      {
        action: "aws:runShellScript",
        name: "bootstrap",
        precondition: { StringEquals: ["platformType", "Linux"] },
        inputs: { timeoutSeconds: String(input.executionTimeoutSeconds), runCommand },
      },
    ],
  };
}

/** KEY=value settings read (not sourced) by bootstrap.sh; every value was validated by the config schema. */
export function renderSettings(input: DocumentInput): string {
  const { app } = input;
  const settings: Record<string, string> = {
    PROJECT: app.projectName,
    HEALTH_URL: app.healthCheckUrl,
    HEALTH_TIMEOUT_SECONDS: String(app.healthCheckTimeoutSeconds),
    SECRETS_PATH: app.secretsParameterPath,
    AWS_REGION_NAME: input.region,
    COMPOSE_VERSION: app.composeVersion,
    COMPOSE_SHA256: app.composeSha256 ?? "",
    USES_ECR: String(
      app.services.some((service) => service.image.startsWith(`${ECR_REGISTRY_PLACEHOLDER}/`)),
    ),
  };
  return `${Object.entries(settings)
    .map(([key, value]) => `${key}=${value}`)
    .join("\n")}\n`;
}
