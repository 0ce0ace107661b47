import { main } from "./main.js";

/** The `launchgate` command (bin/launchgate.mjs runs the bundle built from this file). */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
const code = await main(
  process.argv.slice(2),
  { print: (line) => console.log(line), sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)) },
  (line) => console.error(line),
);
process.exit(code);
