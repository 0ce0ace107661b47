/**
 * The reference deployment, "cnt-backend" (see README.md, "Why"): the built-in default of every
 * config field. FastAPI + Socket.io and LiveKit in Docker, both using the ElastiCache Redis below.
 */

/**
 * Images may start with this placeholder: compose interpolates it on the instance with the account's
 * own ECR registry, which the bootstrap works out (so config needs no account id).
 */
// biome-ignore lint/suspicious/noTemplateCurlyInString: a literal compose placeholder, not a JS template
export const ECR_REGISTRY_PLACEHOLDER = "${ECR_REGISTRY}";

/**
 * SHA-256 of the docker compose release binaries (docker-compose-linux-<arch>), by release and by
 * `uname -m`. Amazon Linux 2023 does not package the compose plugin, so the bootstrap downloads it and
 * refuses a binary that does not match; a `composeVersion` missing here needs `app.composeSha256`.
 * Values as published with each release (docs/aws-facts.md, instance bootstrap); never computed here.
 */
export const COMPOSE_SHA256: Readonly<Record<string, Readonly<Record<ComposeArch, string>>>> = {
  "v2.29.7": {
    x86_64: "383ce6698cd5d5bbf958d2c8489ed75094e34a77d340404d9f32c4ae9e12baf0",
    aarch64: "6e9fbd5daa20dca5d7d89145081ae8155d68ef2928b497d9f85b54fe0f9dbb2c",
  },
};

/**
 * The SHA-256 each architecture's compose download must have: the user's `composeSha256` where given,
 * else launchgate's pin for that release; undefined where neither knows one.
 */
export function composeChecksums(app: {
  readonly composeVersion: string;
  readonly composeSha256?: Partial<Record<ComposeArch, string>>;
}): Record<ComposeArch, string | undefined> {
  const pinned = COMPOSE_SHA256[app.composeVersion];
  return {
    x86_64: app.composeSha256?.x86_64 ?? pinned?.x86_64,
    aarch64: app.composeSha256?.aarch64 ?? pinned?.aarch64,
  };
}

/** The architectures docker compose publishes a Linux binary for that launchgate downloads (`uname -m`). */
export const COMPOSE_ARCHES = ["x86_64", "aarch64"] as const;
export type ComposeArch = (typeof COMPOSE_ARCHES)[number];

/**
 * The name of the bootstrap document's one step. SSM names the CloudWatch log streams of a command's
 * output after it: <command-id>/<instance-id>/<step>/stdout and …/stderr (docs/aws-facts.md, SSM Run
 * Command).
 */
export const BOOTSTRAP_STEP_NAME = "bootstrap";

const REDIS_ENDPOINT = "cnt-redis-cluster.h94cmg.0001.euw2.cache.amazonaws.com:6379";

export const CNT_BACKEND_APP = {
  projectName: "cnt-backend",
  redisEndpoint: REDIS_ENDPOINT,
  /** SecureStrings under this path become the containers' environment (LiveKit keys, DB URLs, …). */
  secretsParameterPath: "/cnt-backend/env",
  healthCheckUrl: "http://127.0.0.1:8000/health",
  healthCheckTimeoutSeconds: 180,
  composeVersion: "v2.29.7",
  services: [
    {
      name: "api",
      image: `${ECR_REGISTRY_PLACEHOLDER}/cnt-backend:latest`,
      ports: ["8000:8000"],
      networkMode: "bridge" as const,
      environment: { APP_ENV: "production", SOCKETIO_REDIS_ADAPTER: "true" },
      useSecrets: true,
    },
    {
      name: "livekit",
      image: "livekit/livekit-server:v1.8.4",
      ports: [],
      // LiveKit's WebRTC UDP range is large; host networking is what LiveKit documents for it.
      networkMode: "host" as const,
      environment: {
        LIVEKIT_CONFIG: `{port: 7880, redis: {address: "${REDIS_ENDPOINT}"}, rtc: {tcp_port: 7881, port_range_start: 50000, port_range_end: 60000, use_external_ip: true}}`,
      },
      useSecrets: true,
    },
  ],
} as const;

export const CNT_BACKEND_GROUP = {
  name: "cnt-backend-asg",
  hookName: "launchgate-launch",
  heartbeatTimeoutSeconds: 600,
  gateTimeoutSeconds: 2400,
  agentTimeoutSeconds: 600,
  bootstrapTimeoutSeconds: 1200,
  targetGroups: ["cnt-backend-tg"],
} as const;
