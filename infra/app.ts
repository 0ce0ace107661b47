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
  if (!(error instanceof ConfigError)) throw error;
  // A config mistake is the user's to fix: say what, without a stack trace.
  console.error(error.message);
  process.exit(1);
}
