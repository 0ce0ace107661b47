import { App } from "aws-cdk-lib";
import { ConfigError } from "../shared/config/parse-config.js";
import { buildApp } from "./build-app.js";
import { loadConfig } from "./config/load-config.js";

const app = new App();
try {
  buildApp(
    app,
    loadConfig((key) => app.node.tryGetContext(key)),
  );
  app.synth();
} catch (error) {
  // A config mistake, or a limit AWS would only enforce at deploy (deploy-limits.ts, a construct
  // validation): the user's to fix. Say what, without a stack trace.
  const validation = error instanceof Error && error.name === "ValidationFailedWithErrors";
  if (!(error instanceof ConfigError) && !validation) throw error;
  console.error((error as Error).message);
  process.exit(1);
}
