import { CfnResource, Token } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { ConfigError } from "../../shared/config/parse-config.js";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig, LaunchgateConfig } from "../../shared/config/schema.js";
import { buildDocumentContent } from "../bootstrap/document-content.js";

export interface GatedGroupProps {
  readonly config: LaunchgateConfig;
  readonly group: GroupConfig;
  /**
   * The group's construct, when the app defines it (`group.name` is then its name or name token): a
   * group created here gets the hook in its own `LifecycleHookSpecificationList`.
   * @default an existing group, named by `group.name`
   */
  readonly autoScalingGroup?: autoscaling.IAutoScalingGroup;
  /** Exact ARNs of this group's target groups that the app defines, by their name in `group.targetGroups`. */
  readonly targetGroupArns?: ReadonlyMap<string, string>;
}

/**
 * What launchgate adds to one Auto Scaling group: the launch lifecycle hook, and the bootstrap document
 * for its instances.
 */
export class GatedGroup extends Construct {
  readonly documentName: string;
  /** The group's name as the config holds it (a token for a group CloudFormation names). */
  readonly groupName: string;
  /** Exact ARNs of the target groups the app defines, by name; the others are scoped by name. */
  readonly targetGroupArns: ReadonlyMap<string, string>;

  constructor(scope: Construct, id: string, props: GatedGroupProps) {
    super(scope, id);
    const { config, group } = props;
    this.groupName = group.name;
    this.targetGroupArns = new Map(
      [...(props.targetGroupArns ?? [])].filter(([name]) => group.targetGroups.includes(name)),
    );
    // No notification target and no role: Auto Scaling sends lifecycle events to EventBridge by itself
    // (docs/aws-facts.md, lifecycle hooks). The default result is set explicitly: the service default is
    // ABANDON, and CDK's docs wrongly say CONTINUE.
    const hook = {
      lifecycleHookName: group.hookName,
      lifecycleTransition: "autoscaling:EC2_INSTANCE_LAUNCHING",
      defaultResult: "ABANDON",
      heartbeatTimeout: group.heartbeatTimeoutSeconds,
    };
    const groupResource = props.autoScalingGroup && autoScalingGroupResource(props.autoScalingGroup);
    if (groupResource) {
      // A group created in this app: the hook is part of the group, so it holds the group's very first
      // instances too (a separate hook resource would be created after the group, and miss them).
      addLaunchHook(groupResource, hook);
    } else {
      new autoscaling.CfnLifecycleHook(this, "LaunchHook", { autoScalingGroupName: group.name, ...hook });
    }
    this.documentName = documentNameFor(config, group.name);
    if (Token.isUnresolved(group.name) && !this.documentName.includes(group.name)) {
      throw new ConfigError(
        [
          `stackName: got ${JSON.stringify(config.stackName)}; allowed: at most ${128 - group.name.length - "--bootstrap".length} characters with a group CloudFormation names (it is part of the bootstrap document's name)`,
        ],
        `props of ${scope.node.path}`,
      );
    }
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

/** The group's CloudFormation resource, when the app creates it (not for an imported group). */
function autoScalingGroupResource(
  group: autoscaling.IAutoScalingGroup,
): autoscaling.CfnAutoScalingGroup | undefined {
  const child = group.node.defaultChild;
  return child &&
    CfnResource.isCfnResource(child) &&
    child.cfnResourceType === "AWS::AutoScaling::AutoScalingGroup"
    ? (child as autoscaling.CfnAutoScalingGroup)
    : undefined;
}

function addLaunchHook(
  resource: autoscaling.CfnAutoScalingGroup,
  hook: autoscaling.CfnAutoScalingGroup.LifecycleHookSpecificationProperty,
): void {
  const existing = resource.lifecycleHookSpecificationList ?? [];
  if (!Array.isArray(existing)) {
    throw new Error(
      `${resource.node.path}: its lifecycleHookSpecificationList is a token; launchgate cannot add its hook "${hook.lifecycleHookName}" to it`,
    );
  }
  const clash = existing.find(
    (other) =>
      !Token.isUnresolved(other) && (other as typeof hook).lifecycleHookName === hook.lifecycleHookName,
  );
  if (clash) {
    throw new Error(
      `${resource.node.path} already has a lifecycle hook named "${hook.lifecycleHookName}": gate it once, or set groups[].hookName`,
    );
  }
  resource.lifecycleHookSpecificationList = [...existing, hook];
}
