import { fromEnv } from "@aws-sdk/credential-provider-env";

/**
 * Stands in for `@aws-sdk/credential-provider-node` in the Lambda bundles (scripts/build-functions.ts
 * swaps it in). Lambda hands a function its execution role's credentials in environment variables
 * (docs/aws-facts.md, credentials in Lambda), so the default chain's other sources — shared config files, SSO,
 * web identity, process, instance metadata — can never apply there; bundling them only slows every
 * cold start. The operator CLI keeps the full default chain.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
