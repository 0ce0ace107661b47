import { Duration } from "aws-cdk-lib";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import {
  DIMENSION,
  METRIC_NAMESPACE,
  METRIC_SERVICE,
  type MetricName,
} from "../../../shared/metrics/metric-names.js";

/**
 * launchgate's own metrics as CloudWatch sees them: the names and dimensions the functions emit
 * (shared/metrics), with the `service` dimension Powertools adds to each.
 */

export const FIVE_MINUTES = Duration.minutes(5);

export function gateMetric(
  name: MetricName,
  groupName: string,
  options: { statistic?: string; label?: string; extra?: Record<string, string> } = {},
): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRIC_NAMESPACE,
    metricName: name,
    dimensionsMap: { service: METRIC_SERVICE, [DIMENSION.group]: groupName, ...options.extra },
    statistic: options.statistic ?? "Sum",
    period: FIVE_MINUTES,
    label: options.label,
  });
}

/**
 * Every series of `name` for the group, split by one more dimension (e.g. abandons by reason): a search,
 * so a reason class seen for the first time still shows. Dashboards only (alarms cannot search).
 */
export function gateMetricsBy(name: MetricName, groupName: string, by: string): cloudwatch.IMetric {
  return new cloudwatch.MathExpression({
    expression: `SEARCH('{${METRIC_NAMESPACE},${by},${DIMENSION.group},service} MetricName="${name}" ${DIMENSION.group}="${groupName}"', 'Sum', 300)`,
    label: "",
    period: FIVE_MINUTES,
  });
}
