/**
 * cdk.json's app: `cdk synth` and `cdk deploy` first build the function bundles when they are missing
 * or older than their sources (so a fresh clone needs no separate build step, and a deploy never ships
 * stale code), then run the standalone app (infra/app.ts).
 */
import { ensureFreshBundles } from "./fresh-bundles.js";

await ensureFreshBundles();
await import("../infra/app.js");
