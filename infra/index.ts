/**
 * launchgate as a CDK construct library: `new LaunchGate(this, "Gate", { config })` in your own stack.
 * The Lambda code ships prebuilt in the package (dist/functions); nothing is built at synth.
 */
export { ConfigError, parseConfig } from "../shared/config/parse-config.js";
export type {
  AppConfig,
  GroupConfig,
  LaunchgateConfig,
  RemediationConfig,
  ServiceConfig,
} from "../shared/config/schema.js";
export { CONFIG_CONTEXT_KEY, CONFIG_FILE_CONTEXT_KEY, loadConfig } from "./config/load-config.js";
export { bundledCode, type FunctionCode } from "./constructs/function-code.js";
export { GateFunction, type GateFunctionProps } from "./constructs/gate-function.js";
export type { LaunchGateConfigInput, LaunchGateGroupInput } from "./constructs/gate-inputs.js";
export { GatedGroup, type GatedGroupProps } from "./constructs/gated-group.js";
export { LaunchGate, type LaunchGateProps, RECONCILE_INTERVAL_MINUTES } from "./constructs/launch-gate.js";
export { SSM_AGENT_ACTIONS, ssmAgentPolicyStatements } from "./constructs/ssm-agent-policy.js";
export { LaunchgateStack, type LaunchgateStackProps } from "./stacks/launchgate-stack.js";
