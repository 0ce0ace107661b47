import { errorMessage } from "../errors.js";
import type { GateLog } from "../gate/deps.js";
import { type MetricDatum, type MetricsSink, metricsOf } from "./sink.js";

/**
 * Emits milestone metrics. Counting must never break the work it counts: a failure to emit (a bad
 * value, a full dimension set) is logged and dropped, after the step itself has succeeded.
 */
export function emitAll(
  deps: { readonly metrics?: MetricsSink; readonly log: GateLog },
  data: readonly MetricDatum[],
): void {
  const sink = metricsOf(deps);
  for (const datum of data) {
    try {
      sink.emit(datum);
    } catch (error) {
      deps.log.warn("could not emit a metric", { metric: datum.name, error: errorMessage(error) });
    }
  }
}
