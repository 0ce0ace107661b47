import type { AttributeValue } from "@aws-sdk/client-dynamodb";

/**
 * SIMULATION — evaluates the DynamoDB ConditionExpressions launchgate sends: terms
 * `attribute_not_exists(path)`, `#name = :value`, `#name <> :value`, `#name < :number`, joined by
 * AND / OR (AND binds tighter, no parentheses). Anything else throws, so a new expression in the store cannot be
 * silently mis-simulated.
 */
export function evaluateCondition(
  expression: string,
  item: Record<string, AttributeValue> | undefined,
  names: Record<string, string> = {},
  values: Record<string, AttributeValue> = {},
): boolean {
  return expression
    .split(/\s+OR\s+/)
    .some((conjunction) =>
      conjunction.split(/\s+AND\s+/).every((term) => evaluateTerm(term.trim(), item, names, values)),
    );
}

function evaluateTerm(
  term: string,
  item: Record<string, AttributeValue> | undefined,
  names: Record<string, string>,
  values: Record<string, AttributeValue>,
): boolean {
  const notExists = /^attribute_not_exists\((#?\w+)\)$/.exec(term);
  if (notExists?.[1]) return item?.[resolve(notExists[1], names)] === undefined;
  const comparison = /^(#?\w+)\s*(=|<>|<)\s*(:\w+)$/.exec(term);
  if (comparison?.[1] && comparison[2] && comparison[3]) {
    const actual = item?.[resolve(comparison[1], names)];
    const expected = values[comparison[3]];
    if (expected === undefined) throw new Error(`simulation: missing value ${comparison[3]}`);
    if (comparison[2] === "<") {
      return actual?.N !== undefined && expected.N !== undefined && Number(actual.N) < Number(expected.N);
    }
    const equal = actual !== undefined && JSON.stringify(actual) === JSON.stringify(expected);
    return comparison[2] === "=" ? equal : !equal;
  }
  throw new Error(`simulation: unsupported condition term "${term}"`);
}

function resolve(path: string, names: Record<string, string>): string {
  if (!path.startsWith("#")) return path;
  const name = names[path];
  if (name === undefined) throw new Error(`simulation: missing name ${path}`);
  return name;
}
