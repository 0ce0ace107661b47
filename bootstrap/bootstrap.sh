#!/usr/bin/env bash
# launchgate bootstrap: makes one EC2 instance serve the app. Run as root by the launchgate SSM
# document, which first writes compose.yaml and settings.env next to this script.
#
#   bootstrap.sh --phase prepare|start|all [--trigger launch|rebootstrap|remediate]
#
# prepare: install Docker and the compose plugin, log in to ECR if needed, pull images (slow; the
#          warm-pool step). start: write secrets to a 0600 env file, compose up, wait for local health.
# Idempotent (installed pieces are skipped), serialized by a lock, and it never prints a secret.
# On failure the last line on stderr is "launchgate: FAILED step <name> (exit <code>)": the launch gate
# reads it to say which step failed.
set -euo pipefail
umask 022

ROOT=${LAUNCHGATE_ROOT:-/opt/launchgate}
LOCK_FILE=${LAUNCHGATE_LOCK_FILE:-/var/lock/launchgate.lock}
LOCK_WAIT_SECONDS=${LAUNCHGATE_LOCK_WAIT_SECONDS:-900}
OS_RELEASE=${LAUNCHGATE_OS_RELEASE:-/etc/os-release}
COMPOSE_PLUGIN_DIR=${LAUNCHGATE_COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
COMPOSE_FILE="$ROOT/compose.yaml"
SETTINGS_FILE="$ROOT/settings.env"
ENV_FILE="$ROOT/app.env"

PHASE=""
TRIGGER="launch"
CURRENT_STEP="arguments"
# The decrypted parameter listing and the env file being written: removed on any exit.
PARAMETERS_TMP=""
ENV_TMP=""

log() { echo "launchgate: $*"; }
fail() { echo "launchgate: $*" >&2; exit 1; }
step() { CURRENT_STEP=$1; log "step $1"; }
on_exit() {
  local code=$?
  if [ -n "$PARAMETERS_TMP" ]; then rm -f "$PARAMETERS_TMP"; fi
  if [ -n "$ENV_TMP" ]; then rm -f "$ENV_TMP"; fi
  if [ "$code" -ne 0 ]; then echo "launchgate: FAILED step $CURRENT_STEP (exit $code)" >&2; fi
}
trap on_exit EXIT

while [ $# -gt 0 ]; do
  case "$1" in
    --phase) PHASE=${2:-}; shift 2 ;;
    --trigger) TRIGGER=${2:-}; shift 2 ;;
    *) fail "unknown argument: $1" ;;
  esac
done
case "$PHASE" in prepare|start|all) ;; *) fail "--phase must be prepare, start or all (got '$PHASE')" ;; esac
case "$TRIGGER" in launch|rebootstrap|remediate) ;; *) fail "--trigger must be launch, rebootstrap or remediate" ;; esac

# Settings are KEY=value lines written by the document from validated config. Read them as data,
# never `source` them: only the known keys are taken.
PROJECT="" HEALTH_URL="" HEALTH_TIMEOUT_SECONDS="" SECRETS_PATH="" AWS_REGION_NAME=""
COMPOSE_VERSION="" COMPOSE_SHA256="" USES_ECR=""
load_settings() {
  [ -r "$SETTINGS_FILE" ] || fail "missing $SETTINGS_FILE (the SSM document writes it)"
  [ -r "$COMPOSE_FILE" ] || fail "missing $COMPOSE_FILE (the SSM document writes it)"
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      PROJECT) PROJECT=$value ;;
      HEALTH_URL) HEALTH_URL=$value ;;
      HEALTH_TIMEOUT_SECONDS) HEALTH_TIMEOUT_SECONDS=$value ;;
      SECRETS_PATH) SECRETS_PATH=$value ;;
      AWS_REGION_NAME) AWS_REGION_NAME=$value ;;
      COMPOSE_VERSION) COMPOSE_VERSION=$value ;;
      COMPOSE_SHA256) COMPOSE_SHA256=$value ;;
      USES_ECR) USES_ECR=$value ;;
      ''|'#'*) ;;
      *) fail "unknown setting '$key' in $SETTINGS_FILE" ;;
    esac
  done < "$SETTINGS_FILE"
  if [ -z "$PROJECT" ] || [ -z "$HEALTH_URL" ] || [ -z "$AWS_REGION_NAME" ]; then
    fail "incomplete $SETTINGS_FILE: PROJECT, HEALTH_URL and AWS_REGION_NAME are required"
  fi
}

take_lock() {
  step lock
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  flock -w "$LOCK_WAIT_SECONDS" 9 || fail "another bootstrap held the lock for ${LOCK_WAIT_SECONDS}s"
}

os_id() {
  # shellcheck disable=SC1090 # os-release is a system file of KEY=value lines
  (. "$OS_RELEASE" && echo "${ID:-unknown}")
}

install_docker() {
  step install-docker
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    log "docker already installed; skipping"
    return
  fi
  case "$(os_id)" in
    amzn) dnf install -y -q docker ;;
    ubuntu|debian) apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker.io ;;
    *) fail "unsupported OS '$(os_id)': Amazon Linux 2023 and Ubuntu are supported" ;;
  esac
  systemctl enable --now docker
  docker info >/dev/null 2>&1 || fail "docker did not start"
}

install_compose() {
  step install-compose
  if docker compose version >/dev/null 2>&1; then
    log "docker compose already installed; skipping"
    return
  fi
  case "$(os_id)" in
    ubuntu|debian) DEBIAN_FRONTEND=noninteractive apt-get install -y -q docker-compose-v2 ;;
    *)
      # Amazon Linux 2023 does not package the compose plugin: fetch the pinned release.
      local url arch
      arch=$(uname -m)
      url="https://github.com/docker/compose/releases/download/${COMPOSE_VERSION}/docker-compose-linux-${arch}"
      mkdir -p "$COMPOSE_PLUGIN_DIR"
      curl -fsSL --retry 3 -o "$COMPOSE_PLUGIN_DIR/docker-compose.download" "$url"
      if [ -n "$COMPOSE_SHA256" ]; then
        echo "$COMPOSE_SHA256  $COMPOSE_PLUGIN_DIR/docker-compose.download" | sha256sum -c --quiet - \
          || fail "docker compose download does not match the configured sha256"
      fi
      chmod 0755 "$COMPOSE_PLUGIN_DIR/docker-compose.download"
      mv "$COMPOSE_PLUGIN_DIR/docker-compose.download" "$COMPOSE_PLUGIN_DIR/docker-compose"
      ;;
  esac
  docker compose version >/dev/null 2>&1 || fail "docker compose is not usable after install"
}

# ECR_REGISTRY is interpolated by compose into image names such as ${ECR_REGISTRY}/app:tag.
export_registry() {
  if [ "$USES_ECR" != "true" ]; then export ECR_REGISTRY=""; return; fi
  local account
  account=$(aws sts get-caller-identity --query Account --output text)
  export ECR_REGISTRY="${account}.dkr.ecr.${AWS_REGION_NAME}.amazonaws.com"
}

ecr_login() {
  step ecr-login
  if [ "$USES_ECR" != "true" ]; then log "no ECR images; skipping"; return; fi
  # The password goes from one process to the other through a pipe: never in argv, never printed.
  aws ecr get-login-password --region "$AWS_REGION_NAME" \
    | docker login --username AWS --password-stdin "$ECR_REGISTRY" >/dev/null
  log "logged in to $ECR_REGISTRY"
}

compose() { docker compose --project-name "$PROJECT" --file "$COMPOSE_FILE" "$@"; }

pull_images() {
  step pull-images
  compose pull --quiet
}

write_env() {
  step write-env
  local count=0 name value
  PARAMETERS_TMP=$(umask 077 && mktemp "$ROOT/.parameters.XXXXXX")
  ENV_TMP=$(umask 077 && mktemp "$ROOT/app.env.XXXXXX")
  if [ -n "$SECRETS_PATH" ]; then
    # A failure here must fail the step, so the listing goes to a 0600 file first (a process
    # substitution would hide aws's exit status). Text output: name<TAB>value per line; values are
    # never echoed.
    aws ssm get-parameters-by-path --region "$AWS_REGION_NAME" --path "$SECRETS_PATH" \
      --recursive --with-decryption --query 'Parameters[].[Name,Value]' --output text > "$PARAMETERS_TMP"
    while IFS=$'\t' read -r name value; do
      if [ -z "$name" ] || [ "$name" = None ]; then continue; fi
      printf '%s=%s\n' "${name##*/}" "$value" >> "$ENV_TMP"
      count=$((count + 1))
    done < "$PARAMETERS_TMP"
  fi
  rm -f "$PARAMETERS_TMP"
  PARAMETERS_TMP=""
  chmod 0600 "$ENV_TMP"
  mv -f "$ENV_TMP" "$ENV_FILE"
  ENV_TMP=""
  log "wrote $count variables from ${SECRETS_PATH:-nowhere} to $ENV_FILE (0600)"
}

compose_up() {
  step compose-up
  compose up --detach --remove-orphans --quiet-pull
}

wait_healthy() {
  step health-check
  local deadline=$((SECONDS + ${HEALTH_TIMEOUT_SECONDS:-180}))
  until curl -fsS -o /dev/null --max-time 5 "$HEALTH_URL" 2>/dev/null; do
    if [ "$SECONDS" -ge "$deadline" ]; then
      compose ps --format 'table {{.Service}}\t{{.State}}\t{{.Status}}' >&2 || true
      fail "$HEALTH_URL did not answer 2xx within ${HEALTH_TIMEOUT_SECONDS}s"
    fi
    sleep 3
  done
  log "$HEALTH_URL is healthy"
}

main() {
  log "bootstrap starting (phase $PHASE, trigger $TRIGGER)"
  load_settings
  take_lock
  install_docker
  install_compose
  export_registry
  if [ "$PHASE" != start ]; then
    ecr_login
    pull_images
  fi
  if [ "$PHASE" != prepare ]; then
    [ "$PHASE" = all ] || ecr_login  # a warm instance may have been stopped since its login
    write_env
    compose_up
    wait_healthy
  fi
  CURRENT_STEP="finished"
  log "bootstrap finished (phase $PHASE)"
}

main
