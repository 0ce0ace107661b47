import { buildAllFunctions } from "../scripts/build-functions.js";

/**
 * The CDK tests deploy the real bundles (Code.fromAsset of dist/functions/*): build them once — unless
 * `npm test` has just built them (it sets LAUNCHGATE_BUNDLES_BUILT), so each step of the suite runs once.
 */
export default async function setup(): Promise<void> {
  if (process.env.LAUNCHGATE_BUNDLES_BUILT === "1") return;
  await buildAllFunctions();
}
