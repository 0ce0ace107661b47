#!/usr/bin/env bash
# launchgate bootstrap: makes one EC2 instance serve the app. Run as root by the launchgate SSM
# document, which writes this script, write-env.py, compose.yaml and settings.env into a directory of
# the command's own and runs it from there:
#
#   bootstrap.sh --stage DIR --phase prepare|start|all [--trigger launch|rebootstrap|remediate]
#
# prepare: install Docker and the compose plugin, log in to ECR if needed, pull images (slow; the
#          warm-pool step). start: write secrets to a 0600 env file, compose up, wait for local health.
# Idempotent (installed pieces are skipped), serialized by a lock, and it never prints a secret. The
# staged files replace the live ones only once this run holds the lock, so a run never changes the
# files of another one that is still going.
#
# Output. stdout carries only launchgate's own lines: "launchgate: step <name>" as each step starts,
# results, and on failure the reason and "launchgate: FAILED step <name> (exit <code>)" last. Every
# tool's output goes to stderr. SSM keeps only the first 24,000 characters of stdout and 8,000 of stderr
# (docs/aws-facts.md, SSM Run Command): a short stdout keeps the failing step readable even when stderr
# is cut. Both streams reach CloudWatch Logs in full. The launch gate reads the FAILED line.
set -euo pipefail
umask 022

ROOT=${LAUNCHGATE_ROOT:-/opt/launchgate}
LOCK_FILE=${LAUNCHGATE_LOCK_FILE:-/var/lock/launchgate.lock}
LOCK_WAIT_SECONDS=${LAUNCHGATE_LOCK_WAIT_SECONDS:-900}
OS_RELEASE=${LAUNCHGATE_OS_RELEASE:-/etc/os-release}
COMPOSE_PLUGIN_DIR=${LAUNCHGATE_COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
# Where snap puts the commands it installs (the AWS CLI on Ubuntu); not always on the agent's PATH.
SNAP_BIN=${LAUNCHGATE_SNAP_BIN:-/snap/bin}
# Ubuntu's first boot: cloud-init, then unattended-upgrades, hold the package manager for minutes.
CLOUD_INIT_WAIT_SECONDS=${LAUNCHGATE_CLOUD_INIT_WAIT_SECONDS:-300}
APT_LOCK_WAIT_SECONDS=${LAUNCHGATE_APT_LOCK_WAIT_SECONDS:-300}
APT_RETRY_SECONDS=${LAUNCHGATE_APT_RETRY_SECONDS:-10}
COMPOSE_FILE="$ROOT/compose.yaml"
ENV_FILE="$ROOT/app.env"
RUNS_DIR="$ROOT/runs"
# Files the document stages in every command's directory; moved into $ROOT under the lock.
STAGED_FILES=(bootstrap.sh write-env.py compose.yaml settings.env)

PHASE=""
TRIGGER="launch"
STAGE_DIR=""
CURRENT_STEP="arguments"
# Files holding decrypted or half-written data, and a half-downloaded binary: removed on any exit.
PARAMETERS_TMP=""
ENV_TMP=""
DOWNLOAD_TMP=""

# fd 3 is SSM's stdout (launchgate's own lines); fds 1 and 2 both go to SSM's stderr.
exec 3>&1 1>&2

say() { echo "launchgate: $*" >&3; }
# The reason goes to both streams: stderr keeps it next to the tool output, stdout survives truncation.
fail() {
  echo "launchgate: $*" >&2
  echo "launchgate: $*" >&3
  exit 1
}
step() {
  CURRENT_STEP=$1
  echo "launchgate: step $1" >&3
  echo "launchgate: step $1" >&2
}
on_exit() {
  local code=$?
  local file
  for file in "$PARAMETERS_TMP" "$ENV_TMP" "$DOWNLOAD_TMP"; do
    if [ -n "$file" ]; then rm -f "$file"; fi
  done
  # Only ever a directory the document made for this command under $RUNS_DIR.
  case "$STAGE_DIR" in "$RUNS_DIR"/run.*) rm -rf "$STAGE_DIR" ;; esac
  if [ "$code" -ne 0 ]; then
    echo "launchgate: FAILED step $CURRENT_STEP (exit $code)" >&2
    echo "launchgate: FAILED step $CURRENT_STEP (exit $code)" >&3
  fi
}
trap on_exit EXIT

while [ $# -gt 0 ]; do
  case "$1" in
    --phase) PHASE=${2:-}; shift 2 ;;
    --trigger) TRIGGER=${2:-}; shift 2 ;;
    --stage) STAGE_DIR=${2:-}; shift 2 ;;
    *) fail "unknown argument: $1" ;;
  esac
done
case "$PHASE" in prepare|start|all) ;; *) fail "--phase must be prepare, start or all (got '$PHASE')" ;; esac
case "$TRIGGER" in launch|rebootstrap|remediate) ;; *) fail "--trigger must be launch, rebootstrap or remediate" ;; esac

# Settings are KEY=value lines written by the document from validated config. Read them as data,
# never `source` them: only the known keys are taken.
PROJECT="" HEALTH_URL="" HEALTH_TIMEOUT_SECONDS="" SECRETS_PATH="" AWS_REGION_NAME=""
COMPOSE_VERSION="" COMPOSE_SHA256_X86_64="" COMPOSE_SHA256_AARCH64="" USES_ECR=""
load_settings() {
  step settings
  if [ -z "$STAGE_DIR" ] || [ ! -d "$STAGE_DIR" ]; then
    fail "--stage must name the directory the SSM document wrote"
  fi
  local name
  for name in "${STAGED_FILES[@]}"; do
    [ -r "$STAGE_DIR/$name" ] || fail "missing $STAGE_DIR/$name (the SSM document writes it)"
  done
  local key value
  while IFS='=' read -r key value; do
    case "$key" in
      PROJECT) PROJECT=$value ;;
      HEALTH_URL) HEALTH_URL=$value ;;
      HEALTH_TIMEOUT_SECONDS) HEALTH_TIMEOUT_SECONDS=$value ;;
      SECRETS_PATH) SECRETS_PATH=$value ;;
      AWS_REGION_NAME) AWS_REGION_NAME=$value ;;
      COMPOSE_VERSION) COMPOSE_VERSION=$value ;;
      COMPOSE_SHA256_X86_64) COMPOSE_SHA256_X86_64=$value ;;
      COMPOSE_SHA256_AARCH64) COMPOSE_SHA256_AARCH64=$value ;;
      USES_ECR) USES_ECR=$value ;;
      ''|'#'*) ;;
      *) fail "unknown setting '$key' in $STAGE_DIR/settings.env" ;;
    esac
  done < "$STAGE_DIR/settings.env"
  if [ -z "$PROJECT" ] || [ -z "$HEALTH_URL" ] || [ -z "$AWS_REGION_NAME" ]; then
    fail "incomplete settings.env: PROJECT, HEALTH_URL and AWS_REGION_NAME are required"
  fi
}

take_lock() {
  step lock
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  flock -w "$LOCK_WAIT_SECONDS" 9 || fail "another bootstrap held the lock for ${LOCK_WAIT_SECONDS}s"
}

# Under the lock: this run's files become the live ones (each copied beside its target, then renamed
# over it), and directories left by runs that died without cleaning up are removed.
install_files() {
  step install-files
  local name
  for name in "${STAGED_FILES[@]}"; do
    cp "$STAGE_DIR/$name" "$ROOT/.$name.new"
    mv -f "$ROOT/.$name.new" "$ROOT/$name"
  done
  find "$RUNS_DIR" -mindepth 1 -maxdepth 1 -type d -name 'run.*' -mmin +1440 -exec rm -rf {} +
}

os_id() {
  # shellcheck disable=SC1090 # os-release is a system file of KEY=value lines
  (. "$OS_RELEASE" && echo "${ID:-unknown}")
}

needs_aws_cli() { [ -n "$SECRETS_PATH" ] || [ "$USES_ECR" = true ]; }
aws_usable() { command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1; }

# cloud-init installs packages and starts unattended-upgrades on first boot, holding the dpkg lock
# while it does. Waiting for it is bounded: past the bound, the package steps still wait for the lock.
wait_for_cloud_init() {
  if ! command -v cloud-init >/dev/null 2>&1; then return; fi
  say "waiting up to ${CLOUD_INIT_WAIT_SECONDS}s for cloud-init to finish"
  local code=0
  timeout "$CLOUD_INIT_WAIT_SECONDS" cloud-init status --wait >/dev/null || code=$?
  case "$code" in
    0) say "cloud-init finished" ;;
    2) say "cloud-init finished with recoverable errors (exit 2); continuing" ;;
    124) say "cloud-init still running after ${CLOUD_INIT_WAIT_SECONDS}s; continuing" ;;
    *) say "cloud-init reported an error (exit $code); continuing: see /var/log/cloud-init-output.log" ;;
  esac
}

# Stock Ubuntu AMIs have no AWS CLI; the snap is published by Amazon Web Services and signed by the
# snap store. Amazon Linux 2023 ships the CLI, so its absence there is an AMI problem to report.
ensure_aws_cli() {
  if aws_usable; then return; fi
  if [ -x "$SNAP_BIN/aws" ]; then PATH="$PATH:$SNAP_BIN"; fi
  if ! aws_usable; then
    case "$(os_id)" in
      ubuntu|debian)
        command -v snap >/dev/null 2>&1 \
          || fail "the AWS CLI is missing and snap is not available to install it: install the AWS CLI v2 in the AMI"
        say "installing the AWS CLI (snap aws-cli)"
        snap install aws-cli --classic || fail "snap install aws-cli failed: install the AWS CLI v2 in the AMI"
        PATH="$PATH:$SNAP_BIN"
        ;;
    esac
  fi
  aws_usable || fail "the AWS CLI v2 is required (Parameter Store secrets, ECR login) but is not installed: add it to the AMI"
  say "AWS CLI: $(aws --version 2>&1 | head -n 1)"
}

prerequisites() {
  step prerequisites
  wait_for_cloud_init
  if needs_aws_cli; then ensure_aws_cli; fi
  if [ -n "$SECRETS_PATH" ]; then
    command -v python3 >/dev/null 2>&1 \
      || fail "python3 is required to write the secrets env file and is missing: add it to the AMI"
  fi
}

# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout, apt >= 1.9.11) but not for the lists
# lock that `apt-get update` takes: a failure that names a lock is retried until the wait runs out.
apt_get() {
  local deadline=$((SECONDS + APT_LOCK_WAIT_SECONDS)) errors code
  errors=$(mktemp)
  while :; do
    code=0
    DEBIAN_FRONTEND=noninteractive apt-get -o "DPkg::Lock::Timeout=$APT_LOCK_WAIT_SECONDS" -y -qq "$@" 2>"$errors" \
      || code=$?
    cat "$errors" >&2
    if [ "$code" -eq 0 ]; then rm -f "$errors"; return 0; fi
    if ! grep -qiE 'could not get lock|unable to acquire the dpkg frontend lock|unable to lock' "$errors"; then
      rm -f "$errors"
      fail "apt-get $1 failed (exit $code)"
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      rm -f "$errors"
      fail "apt-get $1: the package manager stayed locked by another process for ${APT_LOCK_WAIT_SECONDS}s (unattended-upgrades?)"
    fi
    say "apt-get $1: the package manager is locked by another process; retrying in ${APT_RETRY_SECONDS}s"
    sleep "$APT_RETRY_SECONDS"
  done
}

install_docker() {
  step install-docker
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    say "docker already installed; skipping"
    return
  fi
  case "$(os_id)" in
    amzn) dnf install -y -q docker ;;
    ubuntu|debian)
      apt_get update
      apt_get install docker.io
      ;;
    *) fail "unsupported OS '$(os_id)': Amazon Linux 2023 and Ubuntu are supported" ;;
  esac
  systemctl enable --now docker
  docker info >/dev/null 2>&1 || fail "docker did not start"
}

# Amazon Linux 2023 does not package the compose plugin: the pinned release is downloaded and must
# match its pinned SHA-256 before it is made executable. No checksum, no download.
download_compose() {
  local arch expected actual url
  arch=$(uname -m)
  case "$arch" in
    x86_64) expected=$COMPOSE_SHA256_X86_64 ;;
    aarch64) expected=$COMPOSE_SHA256_AARCH64 ;;
    *) fail "docker compose is downloaded for x86_64 and aarch64 only, not '$arch'" ;;
  esac
  [[ "$expected" =~ ^[a-f0-9]{64}$ ]] \
    || fail "no SHA-256 is pinned for docker compose $COMPOSE_VERSION on $arch: set app.composeSha256.$arch from the release's docker-compose-linux-$arch.sha256"
  url="https://github.com/docker/compose/releases/download/${COMPOSE_VERSION}/docker-compose-linux-${arch}"
  mkdir -p "$COMPOSE_PLUGIN_DIR"
  DOWNLOAD_TMP=$(mktemp "$COMPOSE_PLUGIN_DIR/.docker-compose.XXXXXX")
  curl -fsSL --retry 3 -o "$DOWNLOAD_TMP" "$url"
  actual=$(sha256sum "$DOWNLOAD_TMP" | cut -d ' ' -f 1)
  [ "$actual" = "$expected" ] \
    || fail "docker compose $COMPOSE_VERSION for $arch has SHA-256 $actual, not the pinned $expected: not installed"
  chmod 0755 "$DOWNLOAD_TMP"
  mv -f "$DOWNLOAD_TMP" "$COMPOSE_PLUGIN_DIR/docker-compose"
  DOWNLOAD_TMP=""
  say "docker compose $COMPOSE_VERSION ($arch) installed, SHA-256 verified"
}

install_compose() {
  step install-compose
  if docker compose version >/dev/null 2>&1; then
    say "docker compose already installed; skipping"
    return
  fi
  case "$(os_id)" in
    ubuntu|debian) apt_get install docker-compose-v2 ;;
    *) download_compose ;;
  esac
  docker compose version >/dev/null 2>&1 || fail "docker compose is not usable after install"
}

# ECR_REGISTRY is interpolated by compose into image names such as ${ECR_REGISTRY}/app:tag.
export_registry() {
  step registry
  if [ "$USES_ECR" != "true" ]; then
    export ECR_REGISTRY=""
    say "no ECR images"
    return
  fi
  local account
  account=$(aws sts get-caller-identity --region "$AWS_REGION_NAME" --query Account --output text)
  [[ "$account" =~ ^[0-9]{12}$ ]] || fail "sts get-caller-identity returned '$account', not an account id"
  export ECR_REGISTRY="${account}.dkr.ecr.${AWS_REGION_NAME}.amazonaws.com"
  say "registry $ECR_REGISTRY"
}

ecr_login() {
  step ecr-login
  if [ "$USES_ECR" != "true" ]; then say "no ECR images; skipping"; return; fi
  # The password goes from one process to the other through a pipe: never in argv, never printed.
  aws ecr get-login-password --region "$AWS_REGION_NAME" \
    | docker login --username AWS --password-stdin "$ECR_REGISTRY" >/dev/null
  say "logged in to $ECR_REGISTRY"
}

compose() { docker compose --project-name "$PROJECT" --file "$COMPOSE_FILE" "$@"; }

pull_images() {
  step pull-images
  compose pull --quiet
}

# The listing (decrypted) and the env file being written live in 0600 files, removed on any exit; the
# env file replaces the previous one only once complete. write-env.py quotes every value so compose
# reads it back exactly, and refuses what it cannot write (naming the parameter, never the value).
write_env() {
  step write-env
  local count errors
  PARAMETERS_TMP=$(umask 077 && mktemp "$ROOT/.parameters.XXXXXX")
  ENV_TMP=$(umask 077 && mktemp "$ROOT/app.env.XXXXXX")
  if [ -n "$SECRETS_PATH" ]; then
    aws ssm get-parameters-by-path --region "$AWS_REGION_NAME" --path "$SECRETS_PATH" \
      --recursive --with-decryption --query 'Parameters[].[Name,Value]' --output json > "$PARAMETERS_TMP"
  else
    echo '[]' > "$PARAMETERS_TMP"
  fi
  errors=$(mktemp)
  if ! count=$(python3 "$STAGE_DIR/write-env.py" "$PARAMETERS_TMP" "$ENV_TMP" 2>"$errors"); then
    local why
    why=$(head -c 2000 "$errors")
    rm -f "$errors"
    fail "cannot write $ENV_FILE: ${why:-write-env.py failed}"
  fi
  rm -f "$errors" "$PARAMETERS_TMP"
  PARAMETERS_TMP=""
  chmod 0600 "$ENV_TMP"
  mv -f "$ENV_TMP" "$ENV_FILE"
  ENV_TMP=""
  say "wrote $count variables from ${SECRETS_PATH:-nowhere} to $ENV_FILE (0600)"
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
      compose ps --format 'table {{.Service}}\t{{.State}}\t{{.Status}}' || true
      fail "$HEALTH_URL did not answer 2xx within ${HEALTH_TIMEOUT_SECONDS}s"
    fi
    sleep 3
  done
  say "$HEALTH_URL is healthy"
}

main() {
  say "bootstrap starting (phase $PHASE, trigger $TRIGGER)"
  load_settings
  take_lock
  install_files
  prerequisites
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
  say "bootstrap finished (phase $PHASE)"
}

main
