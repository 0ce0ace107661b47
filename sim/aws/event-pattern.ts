import type { EventPattern } from "../../shared/events/patterns.js";

/**
 * SIMULATION — EventBridge pattern matching for the forms launchgate deploys: lists of exact values,
 * and `{"anything-but": [...]}`, at the top level and one level into `detail`. A pattern form this does
 * not know throws, rather than silently matching: the stack and the simulation must not drift apart.
 */
export function matchesPattern(pattern: EventPattern, event: Record<string, unknown>): boolean {
  if (!matchField(pattern.source, event.source)) return false;
  if (!matchField(pattern["detail-type"], event["detail-type"])) return false;
  const detail = (event.detail ?? {}) as Record<string, unknown>;
  return Object.entries(pattern.detail).every(([key, allowed]) => matchField(allowed, detail[key]));
}

function matchField(allowed: readonly unknown[], value: unknown): boolean {
  return allowed.some((rule) => {
    if (typeof rule === "string" || typeof rule === "number") return rule === value;
    if (rule && typeof rule === "object" && "anything-but" in rule) {
      const excluded = (rule as { "anything-but": unknown[] })["anything-but"];
      return value !== undefined && !excluded.includes(value);
    }
    throw new Error(`simulation: unsupported event pattern rule ${JSON.stringify(rule)}`);
  });
}
