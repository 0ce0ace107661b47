/**
 * SIMULATION — imported first by every simulation entry point (npm start, sim:all, chaos): the
 * handlers' logger and SDK clients read this environment when they load. The simulation prints its
 * own report, so the Lambda JSON logs stay quiet unless asked for; simulated clients never reach AWS,
 * but the SDK gets a region and fake credentials so nothing looks further.
 */
process.env.POWERTOOLS_LOG_LEVEL ??= "SILENT";
process.env.AWS_REGION ??= "eu-west-2";
process.env.AWS_ACCESS_KEY_ID ??= "AKIASIMULATION000000";
process.env.AWS_SECRET_ACCESS_KEY ??= "simulation-not-a-secret";
process.env.AWS_EC2_METADATA_DISABLED = "true";
// The deployed functions run Node 22 (the SDK's coming minimum); the lock file pins the SDK here.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = "true";
