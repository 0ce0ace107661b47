import type { AttributeValue } from "@aws-sdk/client-dynamodb";

/**
 * SIMULATION — evaluates the DynamoDB ConditionExpressions launchgate sends: terms
 * `attribute_not_exists(path)`, `attribute_exists(path)`, `path = :value`, `path <> :value`, and the
 * ordering comparisons `path < :number`, `path <= :number`, `path > :number`, `path >= :number` (numbers only: an
 * ordering against a value that is not N throws; an attribute that is absent or not N compares false, as in
 * DynamoDB), joined by AND / OR (AND binds tighter, no parentheses). A path is a top-level attribute: a
 * placeholder `#name` resolved through ExpressionAttributeNames (the resolved name may hold any character, e.g.
 * "m:i-0abc" or "a-b"), or a plain identifier. Anything else throws, so a new expression in the store cannot be
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

const PATH = String.raw`#\w+|[A-Za-z_][A-Za-z0-9_]*`;
const EXISTENCE = new RegExp(String.raw`^(attribute_not_exists|attribute_exists)\(\s*(${PATH})\s*\)$`);
const COMPARISON = new RegExp(String.raw`^(${PATH})\s*(<>|<=|>=|=|<|>)\s*(:\w+)$`);

function evaluateTerm(
  term: string,
  item: Record<string, AttributeValue> | undefined,
  names: Record<string, string>,
  values: Record<string, AttributeValue>,
): boolean {
  const existence = EXISTENCE.exec(term);
  if (existence?.[1] && existence[2]) {
    const present = item?.[resolvePath(existence[2], names)] !== undefined;
    return existence[1] === "attribute_exists" ? present : !present;
  }
  const comparison = COMPARISON.exec(term);
  if (comparison?.[1] && comparison[2] && comparison[3]) {
    const actual = item?.[resolvePath(comparison[1], names)];
    const expected = values[comparison[3]];
    if (expected === undefined) throw new Error(`simulation: missing value ${comparison[3]}`);
    const operator = comparison[2];
    if (operator === "=" || operator === "<>") {
      const equal = actual !== undefined && JSON.stringify(actual) === JSON.stringify(expected);
      return operator === "=" ? equal : !equal;
    }
    if (expected.N === undefined)
      throw new Error(`simulation: unsupported condition term "${term}" (ordering only on numbers)`);
    if (actual?.N === undefined) return false;
    const a = Number(actual.N);
    const b = Number(expected.N);
    return operator === "<" ? a < b : operator === "<=" ? a <= b : operator === ">" ? a > b : a >= b;
  }
  throw new Error(`simulation: unsupported condition term "${term}"`);
}

/** A top-level attribute name from a path: `#name` through ExpressionAttributeNames, or a plain identifier. */
export function resolvePath(path: string, names: Record<string, string>): string {
  if (!path.startsWith("#")) return path;
  const name = names[path];
  if (name === undefined) throw new Error(`simulation: missing name ${path}`);
  return name;
}
