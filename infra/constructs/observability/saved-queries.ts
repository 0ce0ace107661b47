import * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";

export interface SavedQueriesProps {
  readonly stackName: string;
  readonly logGroups: readonly logs.ILogGroup[];
}

/** An instance id that is clearly a placeholder: replace it before running the query. */
export const INSTANCE_PLACEHOLDER = "i-0123456789abcdef0";

/**
 * Logs Insights queries an operator reaches for first, saved in the console under the stack's name. The
 * functions log JSON with the instance and group on each line (shared/logger.ts, shared/gate/finish.ts).
 */
export class SavedQueries extends Construct {
  constructor(scope: Construct, id: string, props: SavedQueriesProps) {
    super(scope, id);
    const logGroups = [...props.logGroups];
    new logs.QueryDefinition(this, "InstanceStory", {
      queryDefinitionName: `${props.stackName}/what happened to instance (replace the id)`,
      logGroups,
      queryString: new logs.QueryString({
        fields: ["@timestamp", "function_name", "level", "message", "phase", "reason", "commandId", "action"],
        filterStatements: [`instanceId = "${INSTANCE_PLACEHOLDER}"`],
        sort: "@timestamp asc",
        limit: 1000,
      }),
    });
    new logs.QueryDefinition(this, "Abandons", {
      queryDefinitionName: `${props.stackName}/abandons (run over the last day)`,
      logGroups,
      queryString: new logs.QueryString({
        fields: ["@timestamp", "groupName", "instanceId", "waitedSeconds", "reason"],
        filterStatements: [`message = "launch abandoned"`],
        sort: "@timestamp desc",
        limit: 1000,
      }),
    });
    // Each watch invocation's closing line (shared/gate/watch/run-watch.ts): whether the watches run,
    // how often their looks were throttled, and how each invocation ended.
    new logs.QueryDefinition(this, "WatchInvocations", {
      queryDefinitionName: `${props.stackName}/watch invocations (looks, steps, how each ended)`,
      logGroups,
      queryString: new logs.QueryString({
        fields: ["@timestamp", "groupName", "watch", "ending", "looks", "throttledLooks", "steps", "message"],
        filterStatements: ["message like /^watch invocation/"],
        sort: "@timestamp desc",
        limit: 1000,
      }),
    });
  }
}
