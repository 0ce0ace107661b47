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
