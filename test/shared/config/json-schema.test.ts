import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../../../infra/constructs/function-code.js";
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchema } from "../../../shared/config/json-schema.js";
import { parseConfig } from "../../../shared/config/parse-config.js";

const readJson = (name: string) => JSON.parse(readFileSync(join(ROOT, name), "utf8"));

interface JsonSchemaNode {
  type?: string;
  properties?: Record<string, JsonSchemaNode>;
  additionalProperties?: boolean | JsonSchemaNode;
  items?: JsonSchemaNode;
  required?: string[];
  anyOf?: JsonSchemaNode[];
}

/** Keys of `value` the schema does not declare where it forbids others: a JSON Schema's `additionalProperties: false`. */
function undeclaredKeys(value: unknown, schema: JsonSchemaNode, path = "(root)"): string[] {
  if (Array.isArray(value)) {
    return value.flatMap((item, i) =>
      schema.items ? undeclaredKeys(item, schema.items, `${path}[${i}]`) : [],
    );
  }
  if (typeof value !== "object" || value === null || !schema.properties) return [];
  return Object.entries(value).flatMap(([key, item]) => {
    const property = schema.properties?.[key];
    if (property) return undeclaredKeys(item, property, `${path}.${key}`);
    return schema.additionalProperties === false ? [`${path}.${key}`] : [];
  });
}

describe("launchgate.config.schema.json", () => {
  it("is what `npm run config-schema` generates from the zod schema (run it after changing the schema)", () => {
    expect(readJson(CONFIG_JSON_SCHEMA_FILE)).toEqual(configJsonSchema());
  });

  it("describes input: nothing is required at the top, a group needs only its name and target groups", () => {
    const schema = configJsonSchema() as JsonSchemaNode;
    expect(schema.required).toBeUndefined();
    const group = schema.properties?.groups?.items;
    expect(group?.required).toEqual(["name", "targetGroups"]);
    expect(group?.additionalProperties).toBe(false);
  });

  it("offers composeSha256 only as the per-architecture object (its string branch exists for the error message)", () => {
    const schema = configJsonSchema() as JsonSchemaNode;
    const app = schema.properties?.groups?.items?.properties?.app;
    const composeSha256 = app?.properties?.composeSha256;
    expect(composeSha256?.anyOf).toBeUndefined();
    expect(composeSha256?.type).toBe("object");
    expect(Object.keys(composeSha256?.properties ?? {})).toEqual(["x86_64", "aarch64"]);
  });

  it("declares notifications.emails as email addresses and allows $schema", () => {
    const schema = configJsonSchema() as { properties: Record<string, unknown> };
    expect(schema.properties.notifications).toMatchObject({
      properties: { emails: { type: "array", items: { type: "string", format: "email" } } },
    });
    expect(schema.properties.$schema).toMatchObject({ type: "string" });
  });
});

describe("launchgate.config.example.json", () => {
  const example = readJson("launchgate.config.example.json");

  it("points editors at the schema", () => {
    expect(example.$schema).toBe(`./${CONFIG_JSON_SCHEMA_FILE}`);
  });

  it("is a valid config", () => {
    const config = parseConfig(example, "launchgate.config.example.json");
    expect(config.groups.map((group) => group.name)).toEqual(["my-app-asg"]);
    expect(config.notifications.emails).toEqual(["ops@example.com"]);
  });

  it("uses only keys the JSON Schema declares", () => {
    expect(undeclaredKeys(example, configJsonSchema() as JsonSchemaNode)).toEqual([]);
    // The check itself can fail: a misspelt key is found.
    expect(undeclaredKeys({ ...example, regoin: "x" }, configJsonSchema() as JsonSchemaNode)).toEqual([
      "(root).regoin",
    ]);
  });
});
