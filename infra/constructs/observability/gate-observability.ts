import type * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import type { LaunchgateConfig } from "../../../shared/config/schema.js";
import type { GateFunction } from "../gate-function.js";
import { GateAlarms } from "./gate-alarms.js";
import { GateDashboard } from "./gate-dashboard.js";
import { SavedQueries } from "./saved-queries.js";

export interface GateObservabilityProps {
  readonly config: LaunchgateConfig;
  /** Each function by the short name operators see in alarms, widgets and queries. */
  readonly functions: ReadonlyMap<string, GateFunction>;
  readonly failureQueue: sqs.IQueue;
}

/** What operators see of the automation: its dashboard, its alarms and their topic, saved queries. */
export class GateObservability extends Construct {
  readonly alarms: GateAlarms;
  readonly dashboard: GateDashboard;

  constructor(scope: Construct, id: string, props: GateObservabilityProps) {
    super(scope, id);
    this.alarms = new GateAlarms(this, "Alarms", props);
    this.dashboard = new GateDashboard(this, "Dashboard", props);
    new SavedQueries(this, "Queries", {
      stackName: props.config.stackName,
      logGroups: [...props.functions.values()].map((fn) => fn.logGroup),
    });
  }
}
