import { Metrics, MetricUnit } from "@aws-lambda-powertools/metrics";
import { METRIC_NAMESPACE, METRIC_SERVICE, type MetricName } from "./metric-names.js";

/**
 * One metric value. `dimensions` is its dimension set (always with `group`); `alsoBy` adds a second,
 * finer set to the same value — one number, counted both per group and per group and reason.
 */
export interface MetricDatum {
  readonly name: MetricName;
  readonly unit: "Count" | "Seconds";
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
  readonly alsoBy?: Readonly<Record<string, string>>;
}

export interface MetricsSink {
  emit(datum: MetricDatum): void;
}

/**
 * Embedded metric format through Powertools: each datum is a log line CloudWatch turns into a metric,
 * with no API call and no flush to forget. Each publishes on its own (a single metric), so the
 * concurrent waits of one batch, of different groups, never share dimensions. A datum's finer set is a
 * line of its own: Powertools warns on every line that repeats a dimension across two sets.
 */
export function powertoolsSink(metrics = defaultMetrics()): MetricsSink {
  const publish = (name: string, unit: MetricDatum["unit"], value: number, dimensions: object) => {
    const single = metrics.singleMetric();
    single.addDimensions(dimensions as Record<string, string>);
    single.addMetric(name, MetricUnit[unit], value);
  };
  return {
    emit({ name, unit, value, dimensions, alsoBy }) {
      publish(name, unit, value, dimensions);
      if (alsoBy) publish(name, unit, value, { ...dimensions, ...alsoBy });
    },
  };
}

/**
 * Made at load, like the logger: it reads its switches (POWERTOOLS_METRICS_DISABLED, dev mode) from the
 * environment the function starts with.
 */
const shared = new Metrics({ namespace: METRIC_NAMESPACE, serviceName: METRIC_SERVICE });

function defaultMetrics(): Metrics {
  return shared;
}

/** The deps' sink, else Powertools'. */
export function metricsOf(deps: { readonly metrics?: MetricsSink }): MetricsSink {
  return deps.metrics ?? powertoolsSink();
}
