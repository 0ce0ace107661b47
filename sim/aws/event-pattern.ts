import type { EventPattern, FieldPattern } from "../../shared/events/patterns.js";

/**
 * SIMULATION — EventBridge pattern matching for the forms launchgate deploys: lists of exact values,
 * `{"anything-but": [...]}`, and nested fields (`state: { value: [...] }`). A pattern form this does
 * not know throws, rather than silently matching: the stack and the simulation must not drift apart.
 */
export function matchesPattern(pattern: EventPattern, event: Record<string, unknown>): boolean {
  if (!matchField(pattern.source, event.source)) return false;
  if (!matchField(pattern["detail-type"], event["detail-type"])) return false;
  return matchObject(pattern.detail, event.detail);
}

function matchObject(pattern: Readonly<Record<string, FieldPattern>>, value: unknown): boolean {
  const object = (value ?? {}) as Record<string, unknown>;
  return Object.entries(pattern).every(([key, allowed]) =>
    Array.isArray(allowed)
      ? matchField(allowed, object[key])
      : matchObject(allowed as Record<string, FieldPattern>, object[key]),
  );
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
