import { Token } from "aws-cdk-lib";
import * as autoscaling from "aws-cdk-lib/aws-autoscaling";
import * as ssm from "aws-cdk-lib/aws-ssm";
import { Construct } from "constructs";
import { ConfigError } from "../../shared/config/parse-config.js";
import { documentNameFor } from "../../shared/config/runtime-config.js";
import type { GroupConfig, LaunchgateConfig } from "../../shared/config/schema.js";
import { buildDocumentContent } from "../bootstrap/document-content.js";
import { addLaunchHookInside, drainHookSpec, launchHookSpec } from "./launch-hook.js";

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
  /**
   * The app created the group with launchgate's hooks already inside it (the reference environment):
   * neither the launch hook nor the drain hook is added here.
   */
  readonly hookInsideGroup?: boolean;
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
    const hook = launchHookSpec(group);
    // A group created in this app gets the hook inside it; an existing (or imported) group, a hook
    // resource of its own — unless the app already put launchgate's hook inside it (hookInsideGroup).
    const inside =
      props.hookInsideGroup || (props.autoScalingGroup && addLaunchHookInside(props.autoScalingGroup, hook));
    if (!inside) {
      new autoscaling.CfnLifecycleHook(this, "LaunchHook", { autoScalingGroupName: group.name, ...hook });
    }
    // Graceful drain on scale-in: the terminate hook, inside a group the app defines (or already put there
    // with the launch hook: hookInsideGroup), else its own resource.
    const drainHook = drainHookSpec(group);
    const drainInside =
      props.hookInsideGroup ||
      (drainHook && props.autoScalingGroup && addLaunchHookInside(props.autoScalingGroup, drainHook));
    if (drainHook && !drainInside) {
      new autoscaling.CfnLifecycleHook(this, "DrainHook", { autoScalingGroupName: group.name, ...drainHook });
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
        ...(group.drain ? { drainTimeoutSeconds: group.drain.timeoutSeconds } : {}),
      }),
    });
  }
}
