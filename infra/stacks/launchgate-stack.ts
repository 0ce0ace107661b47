import { CfnOutput, Stack, type StackProps } from "aws-cdk-lib";
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
    // What an operator (and the CLI) needs to find the gate's state and its dropped events.
    new CfnOutput(this, "GateStateTable", {
      value: this.gate.stateTable.tableName,
      description: "One item per instance: phase, deadlines, outcome, reason and history of its launch gate",
    });
    new CfnOutput(this, "RebootstrapFunctionName", {
      value: this.gate.rebootstrapFunction.function.functionName,
      description: "Invoke to re-bootstrap an instance or a group (or use the launchgate CLI)",
    });
    new CfnOutput(this, "OperationsTable", {
      value: this.gate.operationsTable.tableName,
      description: "Re-bootstrap and remediation operations, and per-instance maintenance locks",
    });
    new CfnOutput(this, "FailureQueueUrl", {
      value: this.gate.failureQueue.queueUrl,
      description:
        "Events and re-checks that failed every retry; each one is a launch the gate could not drive",
    });
  }
}
