import { DIMENSION, METRIC, type RefusalReasonClass } from "./metric-names.js";
import type { MetricDatum } from "./sink.js";

/** What re-bootstrap and remediation operations emit (see launch-metrics.ts for the launch gate's). */

export function operationFinishedMetrics(
  groupName: string,
  kind: "rebootstrap" | "remediate",
  outcome: string,
): MetricDatum[] {
  return [
    {
      name: METRIC.operationsFinished,
      unit: "Count",
      value: 1,
      dimensions: { [DIMENSION.group]: groupName },
      alsoBy: { [DIMENSION.kind]: kind, [DIMENSION.outcome]: outcome },
    },
  ];
}

export function remediationActionMetrics(groupName: string, action: "restart" | "replace"): MetricDatum[] {
  return [
    {
      name: METRIC.remediationActions,
      unit: "Count",
      value: 1,
      dimensions: { [DIMENSION.group]: groupName },
      alsoBy: { [DIMENSION.action]: action },
    },
  ];
}

export function remediationRefusalMetrics(groupName: string, reason: RefusalReasonClass): MetricDatum[] {
  return [
    {
      name: METRIC.remediationRefusals,
      unit: "Count",
      value: 1,
      dimensions: { [DIMENSION.group]: groupName },
      alsoBy: { [DIMENSION.reason]: reason },
    },
  ];
}
