/** An EC2 instance id: `i-` and 8 (older instances) or 17 hex digits. */
export const INSTANCE_ID = /^i-([0-9a-f]{8}|[0-9a-f]{17})$/;
