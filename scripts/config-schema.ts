import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CONFIG_JSON_SCHEMA_FILE, configJsonSchemaText } from "../shared/config/json-schema.js";
import { ROOT } from "./functions.js";

/**
 * `npm run config-schema`: writes launchgate.config.schema.json from the zod config schema, for editor
 * completion of launchgate.config.json files. Run it after changing shared/config/schema.ts; a test
 * (test/shared/config/json-schema.test.ts) fails while the committed file is out of date.
 *
 * The file is then formatted by Biome, so `npm run lint` accepts it as written; the test compares the
 * parsed JSON, not the text, so formatting never makes it fail.
 */
const file = join(ROOT, CONFIG_JSON_SCHEMA_FILE);
writeFileSync(file, configJsonSchemaText());
const biome = spawnSync(join(ROOT, "node_modules", ".bin", "biome"), ["format", "--write", file], {
  stdio: "inherit",
});
if (biome.status !== 0) {
  console.error(`biome could not format ${CONFIG_JSON_SCHEMA_FILE} (exit ${biome.status ?? biome.signal})`);
  process.exit(1);
}
console.log(`wrote ${CONFIG_JSON_SCHEMA_FILE}`);
