import { z } from "zod";
import { composeSha256Schema, configSchema } from "./schema.js";

/** Where the generated schema lives, relative to the repository root (`npm run config-schema` writes it). */
export const CONFIG_JSON_SCHEMA_FILE = "launchgate.config.schema.json";

/**
 * The config schema as JSON Schema, for editor completion and inline checks of a config file. Generated
 * from the zod schema, in `io: "input"` mode: what a user may write, so every field with a default is
 * optional. It is a guide, not the authority: cross-field rules (unique names, gate timeout vs. hook
 * timeout, secret-looking variable names, compose checksums) exist only in the zod schema, and synth
 * checks them through parseConfig.
 *
 * Draft 7, because it is the draft editors support most fully.
 */
export function configJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(configSchema, {
    io: "input",
    target: "draft-07",
    override: ({ zodSchema, jsonSchema }) => {
      // composeSha256's string branch exists only to explain that a single checksum is wrong; offered
      // to an editor it would suggest exactly that mistake. Keep the per-architecture object alone.
      if (zodSchema !== composeSha256Schema) return;
      const [object] = (jsonSchema.anyOf ?? []).filter((branch) => branch.type === "object");
      if (!object) throw new Error("composeSha256: expected an object branch in the generated schema");
      delete jsonSchema.anyOf;
      Object.assign(jsonSchema, object);
    },
  });
  return {
    ...generated,
    title: "launchgate configuration",
    description:
      "Every field is optional: {} is the cnt-backend reference deployment. Validated at synth by launchgate's parseConfig, which also checks rules this schema cannot express.",
  };
}

/** The file's exact text: 2-space JSON with a final newline, as `npm run config-schema` writes it. */
export function configJsonSchemaText(): string {
  return `${JSON.stringify(configJsonSchema(), null, 2)}\n`;
}
