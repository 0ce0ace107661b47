/**
 * SIMULATION — CloudWatch's side of the embedded metric format: each log line with an `_aws` block
 * becomes one value per metric, under each of its dimension sets. The world keeps them for the report
 * and the tests (it does not evaluate alarms on them).
 */

export interface EmittedMetric {
  readonly at: number;
  readonly function: string;
  readonly name: string;
  readonly unit: string;
  readonly value: number;
  readonly dimensions: Readonly<Record<string, string>>;
}

interface EmfDocument {
  readonly _aws?: {
    readonly CloudWatchMetrics?: readonly {
      readonly Dimensions: readonly (readonly string[])[];
      readonly Metrics: readonly { readonly Name: string; readonly Unit?: string }[];
    }[];
  };
  readonly [key: string]: unknown;
}

/** The metrics in what a function wrote (one or more lines); lines that are not EMF are not metrics. */
export function metricsIn(text: string, fn: string, at: number): EmittedMetric[] {
  return text.split("\n").flatMap((line) => {
    if (!line.startsWith("{")) return [];
    let document: EmfDocument;
    try {
      document = JSON.parse(line);
    } catch {
      return [];
    }
    return (document._aws?.CloudWatchMetrics ?? []).flatMap((directive) =>
      directive.Metrics.flatMap((metric) =>
        directive.Dimensions.map((set) => ({
          at,
          function: fn,
          name: metric.Name,
          unit: metric.Unit ?? "None",
          value: Number(document[metric.Name]),
          dimensions: Object.fromEntries(set.map((key) => [key, String(document[key])])),
        })),
      ),
    );
  });
}
