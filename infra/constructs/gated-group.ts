import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig, LaunchgateConfig } from "../../shared/config/schema.js";
import { buildDocumentContent } from "../bootstrap/document-content.js";

export interface GatedGroupProps {
  readonly config: LaunchgateConfig;
  readonly group: GroupConfig;
}

/**
 * What launchgate adds to one existing Auto Scaling group: the launch lifecycle hook, and the
 * bootstrap document for its instances.
 */
export class GatedGroup extends Construct {
  readonly documentName: string;

  constructor(scope: Construct, id: string, props: GatedGroupProps) {
    super(scope, id);
    const { config, group } = props;
    // No notification target and no role: Auto Scaling sends lifecycle events to EventBridge by itself
    // (docs/aws-facts.md, lifecycle hooks). The default result is set explicitly: the service default is
    // ABANDON, and CDK's docs wrongly say CONTINUE.
    new autoscaling.CfnLifecycleHook(this, "LaunchHook", {
      autoScalingGroupName: group.name,
      lifecycleHookName: group.hookName,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      defaultResult: "ABANDON",
      heartbeatTimeout: group.heartbeatTimeoutSeconds,
    });
    this.documentName = documentNameFor(config, group.name);
    new ssm.CfnDocument(this, "BootstrapDocument", {
      name: this.documentName,
      documentType: "Command",
      documentFormat: "JSON",
      // A new version on every change keeps the name stable (IAM and event patterns name it).
      updateMethod: "NewVersion",
      content: buildDocumentContent({
        groupName: group.name,
        region: config.region,
        app: group.app,
        executionTimeoutSeconds: group.bootstrapTimeoutSeconds,
      }),
    });
  }
}
