import { buildAllFunctions } from "../scripts/build-functions.js";

/** The CDK tests deploy the real bundles (Code.fromAsset of dist/functions/*): build them once. */
export default async function setup(): Promise<void> {
  await buildAllFunctions();
}
