import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "./functions.js";
import { summarizeTemplate } from "./synth-summary.js";

/**
 * `npm run synth [-- -c key=value …]`: synthesizes the app with the CDK CLI, fully offline — no
 * credentials, no lookups, no notices, no telemetry, no instance-metadata probe — then prints what
 * would be deployed. Extra arguments go to `cdk synth` (e.g. `-c launchgate:configFile=./my.json`).
 */
const offline = {
  ...process.env,
  CDK_DISABLE_CLI_TELEMETRY: "true",
  AWS_EC2_METADATA_DISABLED: "true",
  CDK_DISABLE_VERSION_CHECK: "true",
};
const cdk = spawnSync(
  "npx",
  [
    "--no-install",
    "cdk",
    "synth",
    "--no-notices",
    "--quiet",
    "--ci",
    "--output",
    "cdk.out",
    ...process.argv.slice(2),
  ],
  { cwd: ROOT, env: offline, stdio: ["ignore", "inherit", "inherit"] },
);
if (cdk.status !== 0) process.exit(cdk.status ?? 1);

const manifest = JSON.parse(readFileSync(join(ROOT, "cdk.out", "manifest.json"), "utf8"));
for (const [name, artifact] of Object.entries<{
  type: string;
  environment?: string;
  properties?: { templateFile: string };
}>(manifest.artifacts)) {
  if (artifact.type !== "aws:cloudformation:stack" || !artifact.properties) continue;
  const template = JSON.parse(readFileSync(join(ROOT, "cdk.out", artifact.properties.templateFile), "utf8"));
  console.log(summarizeTemplate(name, artifact.environment ?? "", template).join("\n"));
}
