import { Stack, type StackProps } from "aws-cdk-lib";
import type { Construct } from "constructs";
import type { LaunchgateConfig } from "../../shared/config/schema.js";
import type { FunctionCode } from "../constructs/function-code.js";
import { LaunchGate } from "../constructs/launch-gate.js";

export interface LaunchgateStackProps extends StackProps {
  readonly config: LaunchgateConfig;
  /** @default the bundles `npm run build` wrote */
  readonly code?: FunctionCode;
  /** Groups created with launchgate's hook already inside them (see LaunchGateProps). */
  readonly hooksInsideGroups?: readonly string[];
}

/**
 * Attaches launchgate to existing Auto Scaling groups and target groups, named in config. Nothing is
 * looked up at synth: names become ARNs in the stack's own region and account.
 */
export class LaunchgateStack extends Stack {
  readonly gate: LaunchGate;

  constructor(scope: Construct, id: string, props: LaunchgateStackProps) {
    super(scope, id, props);
    this.gate = new LaunchGate(this, "LaunchGate", {
      config: props.config,
      code: props.code,
      hooksInsideGroups: props.hooksInsideGroups,
    });
  }
}
