#!/usr/bin/env bash
# launchgate bootstrap: makes one EC2 instance serve the app. Run as root by the launchgate SSM
# document, which writes this script, write-env.py, compose.yaml and settings.env into a directory of
# the command's own and runs it from there:
#
#   bootstrap.sh --stage DIR --phase prepare|start|all|drain [--trigger launch|rebootstrap|remediate|scale-in]
#
# prepare: install Docker and the compose plugin, log in to ECR if needed, pull images (slow; the
#          warm-pool step). start: write secrets to a 0600 env file, compose up, wait for local health.
#          A start on an instance that no prepare of this very document version finished (a warm-pool
#          instance prepared before the stack was updated, or never prepared) prepares again first;
#          a start out of the warm pool (trigger launch) pulls again the services whose tag may have
#          moved (REPULL_SERVICES, decided at synth), and nothing when every image is pinned.
# drain: (scale-in, the instance is already out of its target groups) stop accepting new work (the app's
#          containers get DRAIN_SIGNAL, SIGTERM unless set), wait up to DRAIN_TIMEOUT_SECONDS for them to
#          exit (sessions ending), then `docker compose down`, which kills what is left: an overrun is
#          reported ("drain overran its limit") and fails the command, but the containers are stopped.
# The trigger rebootstrap or remediate recreates every container and checks that each one restarted.
# Idempotent (installed pieces are skipped), serialized by a lock, and it never prints a secret. The
# staged files replace the live ones only once this run holds the lock, so a run never changes the
# files of another one that is still going.
#
# Time. SSM kills the whole process group at the document's execution timeout (SIGKILL: no trap runs,
# nothing is printed). So every wait here is bounded by a deadline kept a margin short of that timeout,
# and the script always gets to print its own FAILED line. What a killed run leaves behind (its run
# directory, a half-written temp file) is swept by the next run, under the lock.
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
# Kept back from the execution timeout: time to print the reason and clean up before SSM's kill. A tool
# cut short at the deadline gets KILL_AFTER_SECONDS more after its TERM, well inside the margin.
DEADLINE_MARGIN_SECONDS=${LAUNCHGATE_DEADLINE_MARGIN_SECONDS:-15}
KILL_AFTER_SECONDS=5
OS_RELEASE=${LAUNCHGATE_OS_RELEASE:-/etc/os-release}
COMPOSE_PLUGIN_DIR=${LAUNCHGATE_COMPOSE_PLUGIN_DIR:-/usr/local/lib/docker/cli-plugins}
# Where snap puts the commands it installs (the AWS CLI on Ubuntu); not always on the agent's PATH.
SNAP_BIN=${LAUNCHGATE_SNAP_BIN:-/snap/bin}
# Ubuntu's first boot: cloud-init, then unattended-upgrades, hold the package manager for minutes.
CLOUD_INIT_WAIT_SECONDS=${LAUNCHGATE_CLOUD_INIT_WAIT_SECONDS:-300}
APT_LOCK_WAIT_SECONDS=${LAUNCHGATE_APT_LOCK_WAIT_SECONDS:-300}
APT_RETRY_SECONDS=${LAUNCHGATE_APT_RETRY_SECONDS:-10}
# snapd seeds itself on first boot and refuses `snap install` until it is done; the store can be slow.
SNAP_WAIT_SECONDS=${LAUNCHGATE_SNAP_WAIT_SECONDS:-300}
# A compose download that cannot even connect in this long will not: no route to github.com.
DOWNLOAD_CONNECT_SECONDS=${LAUNCHGATE_DOWNLOAD_CONNECT_SECONDS:-20}
# drain: the signal that tells the app to stop taking work, and how often to look whether it exited.
DRAIN_SIGNAL=${LAUNCHGATE_DRAIN_SIGNAL:-SIGTERM}
DRAIN_POLL_SECONDS=${LAUNCHGATE_DRAIN_POLL_SECONDS:-2}
# Kept back from the deadline when it cuts the drain: time to stop the containers still running.
DRAIN_STOP_SECONDS=10
# How long switching the containers' restart policy off may take: one quick call to the daemon.
DRAIN_UPDATE_SECONDS=20
COMPOSE_FILE="$ROOT/compose.yaml"
ENV_FILE="$ROOT/app.env"
# Written by a prepare that finished: the hash of the document files it prepared from (see
# document_hash). A start compares it with its own document's.
PREPARED_FILE="$ROOT/prepared"
RUNS_DIR="$ROOT/runs"
# Files the document stages in every command's directory; moved into $ROOT under the lock.
STAGED_FILES=(bootstrap.sh write-env.py compose.yaml settings.env)

PHASE=""
TRIGGER="launch"
STAGE_DIR=""
CURRENT_STEP="arguments"
# Until the settings are read, no deadline is known: nothing before that waits.
DEADLINE=""
OS=""
APT_UPDATED=""
LOGGED_IN=""
# Every temporary file lives in this run's own directory ($STAGE_DIR, 0700), which goes with the run
# (or, for a killed run, with the next run's sweep). ENV_TMP is the env file being written.
ENV_TMP=""

# fd 3 is SSM's stdout (launchgate's own lines); fds 1 and 2 both go to SSM's stderr.
exec 3>&1 1>&2

say() { echo "launchgate: $*" >&3; }
# The reason goes to both streams: stderr keeps it next to the tool output, stdout survives truncation.
fail() { fail_with 1 "$@"; }
fail_with() {
  local code=$1
  shift
  echo "launchgate: $*" >&2
  echo "launchgate: $*" >&3
  exit "$code"
}
step() {
  CURRENT_STEP=$1
  echo "launchgate: step $1" >&3
  echo "launchgate: step $1" >&2
}
own_run_dir() { case "$STAGE_DIR" in "$RUNS_DIR"/run.*) [ -d "$STAGE_DIR" ] ;; *) false ;; esac; }
on_exit() {
  local code=$?
  if [ -n "$ENV_TMP" ]; then rm -f "$ENV_TMP"; fi
  # Only ever a directory the document made for this command under $RUNS_DIR.
  if own_run_dir; then rm -rf "$STAGE_DIR"; fi
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
case "$PHASE" in prepare|start|all|drain) ;; *) fail "--phase must be prepare, start, all or drain (got '$PHASE')" ;; esac
case "$TRIGGER" in launch|rebootstrap|remediate|scale-in) ;; *) fail "--trigger must be launch, rebootstrap, remediate or scale-in" ;; esac

# This run holds a lock on $STAGE_DIR/.alive for as long as it lives (fd 8; the kernel drops it when the
# process group dies, SIGKILL included): a run directory whose .alive nobody holds belongs to a dead
# run, and the next run removes it. The file is locked before it gets its name, so a sweep never sees
# an unlocked .alive of a run that is still starting.
claim_run_dir() {
  if ! own_run_dir; then return; fi
  exec 8>"$STAGE_DIR/.alive.new"
  flock -n 8 || fail "cannot lock $STAGE_DIR/.alive.new"
  mv -f "$STAGE_DIR/.alive.new" "$STAGE_DIR/.alive"
}
claim_run_dir

# Settings are KEY=value lines written by the document from validated config. Read them as data,
# never `source` them: only the known keys are taken.
PROJECT="" HEALTH_URL="" HEALTH_TIMEOUT_SECONDS="" SECRETS_PATH="" AWS_REGION_NAME=""
COMPOSE_VERSION="" COMPOSE_SHA256_X86_64="" COMPOSE_SHA256_AARCH64="" USES_ECR=""
EXECUTION_TIMEOUT_SECONDS="" DRAIN_TIMEOUT_SECONDS="" REPULL_SERVICES=""
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
      EXECUTION_TIMEOUT_SECONDS) EXECUTION_TIMEOUT_SECONDS=$value ;;
      DRAIN_TIMEOUT_SECONDS) DRAIN_TIMEOUT_SECONDS=$value ;;
      REPULL_SERVICES) REPULL_SERVICES=$value ;;
      ''|'#'*) ;;
      *) fail "unknown setting '$key' in $STAGE_DIR/settings.env" ;;
    esac
  done < "$STAGE_DIR/settings.env"
  if [ -z "$PROJECT" ] || [ -z "$HEALTH_URL" ] || [ -z "$AWS_REGION_NAME" ]; then
    fail "incomplete settings.env: PROJECT, HEALTH_URL and AWS_REGION_NAME are required"
  fi
  [[ "$EXECUTION_TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] \
    || fail "settings.env has no EXECUTION_TIMEOUT_SECONDS (the document's execution timeout)"
  # Compose service names (the config schema's: lower-case letters, digits, _ and -), one space between.
  [[ "$REPULL_SERVICES" =~ ^[a-z0-9_\ -]*$ ]] \
    || fail "settings.env has a REPULL_SERVICES that is not a list of compose service names"
  # SSM's clock starts when the agent starts the step, a moment before this script: SECONDS is 0 here.
  DEADLINE=$((EXECUTION_TIMEOUT_SECONDS - DEADLINE_MARGIN_SECONDS))
}

# Sets WAIT to the smaller of $1 and the seconds left before the deadline; when none are left, fails
# naming what could not start ($2).
cap_wait() {
  local left=$((DEADLINE - SECONDS))
  if [ "$left" -lt 1 ]; then
    fail "no time left for $2: the bootstrap document's execution timeout is ${EXECUTION_TIMEOUT_SECONDS}s; raise groups[].bootstrapTimeoutSeconds, or see the steps above for what was slow"
  fi
  if [ "$1" -lt "$left" ]; then WAIT=$1; else WAIT=$left; fi
}

# Runs a command for at most the time left (or $2 seconds, if fewer), failing with a clear reason when
# that runs out; otherwise returns the command's own exit code. --foreground keeps the command in this
# script's process group, so that SSM's kill still reaches it (timeout would otherwise make a group of
# its own).
run_bounded() {
  local what=$1 limit=$2 code=0
  shift 2
  cap_wait "$limit" "$what"
  timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$WAIT" "$@" || code=$?
  case "$code" in
    124 | 137) fail "$what did not finish within ${WAIT}s$(cut_by_deadline "$limit")" ;;
  esac
  return "$code"
}
# Why a bounded wait was as short as it was: its own bound, or the execution timeout.
cut_by_deadline() {
  if [ "$WAIT" -lt "$1" ]; then
    echo " (all that was left of the bootstrap document's execution timeout of ${EXECUTION_TIMEOUT_SECONDS}s)"
  fi
}
# The bound of a command that has no bound of its own: whatever time is left.
UNBOUNDED=999999

take_lock() {
  step lock
  mkdir -p "$(dirname "$LOCK_FILE")"
  exec 9>"$LOCK_FILE"
  cap_wait "$LOCK_WAIT_SECONDS" "taking the lock"
  flock -w "$WAIT" 9 || fail "another bootstrap held the lock for ${WAIT}s$(cut_by_deadline "$LOCK_WAIT_SECONDS")"
}

# Under the lock: this run's files become the live ones (each copied beside its target, then renamed
# over it), and what runs killed before their cleanup left behind is removed.
install_files() {
  step install-files
  sweep_leftovers
  local name
  for name in "${STAGED_FILES[@]}"; do
    cp "$STAGE_DIR/$name" "$ROOT/.$name.new"
    mv -f "$ROOT/.$name.new" "$ROOT/$name"
  done
}

# Only the lock holder writes secrets, so none of these belongs to a live run: the listing and env
# temp files that earlier versions kept in $ROOT, and the run directories of dead runs (with any
# half-written env file in them). A directory without .alive is one whose script never started (or an
# earlier version's): it holds no secrets and is removed once it is surely abandoned.
sweep_leftovers() {
  rm -f "$ROOT"/.parameters.* "$ROOT"/app.env.?*
  local dir
  for dir in "$RUNS_DIR"/run.*; do
    if [ ! -d "$dir" ] || [ "$dir" = "$STAGE_DIR" ]; then continue; fi
    if [ -e "$dir/.alive" ]; then
      if flock -n "$dir/.alive" true; then rm -rf "$dir"; fi
    elif [ -n "$(find "$dir" -maxdepth 0 -mmin +1440)" ]; then
      rm -rf "$dir"
    fi
  done
}

# Amazon Linux 2023 and Ubuntu only: what each step installs, and how, depends on it.
check_platform() {
  local id version
  # shellcheck disable=SC1090 # os-release is a system file of KEY=value lines
  read -r id version < <(. "$OS_RELEASE" && echo "${ID:-unknown} ${VERSION_ID:-unknown}")
  case "$id" in
    amzn)
      [ "$version" = 2023 ] \
        || fail "Amazon Linux $version is not supported (Amazon Linux 2 has no dnf, and its Docker and compose differ): use Amazon Linux 2023 or Ubuntu"
      ;;
    ubuntu) ;;
    debian) fail "Debian is not supported (its archive has no docker-compose-v2 package): use Ubuntu or Amazon Linux 2023" ;;
    *) fail "unsupported OS '$id' $version: Amazon Linux 2023 and Ubuntu are supported" ;;
  esac
  OS=$id
}

needs_aws_cli() { [ -n "$SECRETS_PATH" ] || [ "$USES_ECR" = true ]; }
aws_usable() { command -v aws >/dev/null 2>&1 && aws --version >/dev/null 2>&1; }

# cloud-init installs packages and starts unattended-upgrades on first boot, holding the dpkg lock
# while it does. Waiting for it is bounded: past the bound, the package steps still wait for the lock.
wait_for_cloud_init() {
  if ! command -v cloud-init >/dev/null 2>&1; then return; fi
  cap_wait "$CLOUD_INIT_WAIT_SECONDS" "waiting for cloud-init"
  say "waiting up to ${WAIT}s for cloud-init to finish"
  local code=0
  timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$WAIT" cloud-init status --wait >/dev/null || code=$?
  case "$code" in
    0) say "cloud-init finished" ;;
    2) say "cloud-init finished with recoverable errors (exit 2); continuing" ;;
    124 | 137) say "cloud-init still running after ${WAIT}s; continuing" ;;
    *) say "cloud-init reported an error (exit $code); continuing: see /var/log/cloud-init-output.log" ;;
  esac
}

# Stock Ubuntu AMIs have no AWS CLI; the snap is published by Amazon Web Services and signed by the
# snap store. Amazon Linux 2023 ships the CLI, so its absence there is an AMI problem to report.
ensure_aws_cli() {
  if aws_usable; then return; fi
  if [ -x "$SNAP_BIN/aws" ]; then PATH="$PATH:$SNAP_BIN"; fi
  if ! aws_usable && [ "$OS" = ubuntu ]; then
    command -v snap >/dev/null 2>&1 \
      || fail "the AWS CLI is missing and snap is not available to install it: install the AWS CLI v2 in the AMI"
    install_aws_cli_snap
    PATH="$PATH:$SNAP_BIN"
  fi
  aws_usable || fail "the AWS CLI v2 is required (Parameter Store secrets, ECR login) but is not installed: add it to the AMI"
  say "AWS CLI: $(aws --version 2>&1 | head -n 1)"
}

# On first boot snapd refuses `snap install` until it has seeded ("too early for operation"), and the
# store may be unreachable from a private subnet: both are bounded, and both fail here, saying so.
install_aws_cli_snap() {
  local code=0 store="the snap store (api.snapcraft.io) must be reachable from the instance's subnet, or install the AWS CLI v2 in the AMI"
  say "waiting for snapd to be seeded"
  cap_wait "$SNAP_WAIT_SECONDS" "waiting for snapd"
  timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$WAIT" snap wait system seed.loaded || code=$?
  case "$code" in
    0) ;;
    124 | 137) fail "snapd was still seeding after ${WAIT}s$(cut_by_deadline "$SNAP_WAIT_SECONDS"), so the AWS CLI snap cannot be installed: install the AWS CLI v2 in the AMI" ;;
    *) fail "snap wait system seed.loaded failed (exit $code): install the AWS CLI v2 in the AMI" ;;
  esac
  say "installing the AWS CLI (snap aws-cli)"
  cap_wait "$SNAP_WAIT_SECONDS" "snap install aws-cli"
  timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$WAIT" snap install aws-cli --classic || code=$?
  case "$code" in
    0) ;;
    124 | 137) fail "snap install aws-cli did not finish within ${WAIT}s$(cut_by_deadline "$SNAP_WAIT_SECONDS"): $store" ;;
    *) fail "snap install aws-cli failed (exit $code): $store" ;;
  esac
}

prerequisites() {
  step prerequisites
  check_platform
  wait_for_cloud_init
  if needs_aws_cli; then ensure_aws_cli; fi
  if [ -n "$SECRETS_PATH" ]; then
    command -v python3 >/dev/null 2>&1 \
      || fail "python3 is required to write the secrets env file and is missing: add it to the AMI"
  fi
}

# apt-get waits for the dpkg lock itself (DPkg::Lock::Timeout, apt >= 1.9.11) but not for the lists
# lock that `apt-get update` takes: a failure that names a lock is retried until the wait runs out.
# Each call, and each lock wait, is bounded by the time left.
apt_get() {
  local until=$((SECONDS + APT_LOCK_WAIT_SECONDS)) errors="$STAGE_DIR/apt-get.err" code lock_wait
  while :; do
    cap_wait "$APT_LOCK_WAIT_SECONDS" "apt-get $1"
    lock_wait=$WAIT
    cap_wait "$UNBOUNDED" "apt-get $1"
    code=0
    DEBIAN_FRONTEND=noninteractive timeout --foreground --kill-after="$KILL_AFTER_SECONDS" "$WAIT" \
      apt-get -o "DPkg::Lock::Timeout=$lock_wait" -y -qq "$@" 2>"$errors" || code=$?
    cat "$errors" >&2
    case "$code" in
      0) return 0 ;;
      124 | 137) fail "apt-get $1 did not finish within ${WAIT}s$(cut_by_deadline "$UNBOUNDED")" ;;
    esac
    if ! grep -qiE 'could not get lock|unable to acquire the dpkg frontend lock|unable to lock' "$errors"; then
      fail "apt-get $1 failed (exit $code)"
    fi
    if [ "$SECONDS" -ge "$until" ]; then
      fail "apt-get $1: the package manager stayed locked by another process for ${APT_LOCK_WAIT_SECONDS}s (unattended-upgrades?)"
    fi
    if [ $((DEADLINE - SECONDS)) -le "${APT_RETRY_SECONDS%.*}" ]; then
      fail "apt-get $1: the package manager was still locked by another process when the bootstrap document's execution timeout of ${EXECUTION_TIMEOUT_SECONDS}s ran out (unattended-upgrades?)"
    fi
    say "apt-get $1: the package manager is locked by another process; retrying in ${APT_RETRY_SECONDS}s"
    sleep "$APT_RETRY_SECONDS"
  done
}

# The package lists once per run, before the first install: an AMI baked with docker.io can have lists
# too old (or none) for the compose package.
apt_install() {
  if [ -z "$APT_UPDATED" ]; then
    apt_get update
    APT_UPDATED=yes
  fi
  apt_get install "$@"
}

install_docker() {
  step install-docker
  if command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then
    say "docker already installed; skipping"
    return
  fi
  case "$OS" in
    amzn) run_bounded "dnf install docker" "$UNBOUNDED" dnf install -y -q docker ;;
    ubuntu) apt_install docker.io ;;
  esac
  run_bounded "systemctl enable --now docker" "$UNBOUNDED" systemctl enable --now docker
  docker info >/dev/null 2>&1 || fail "docker did not start"
}

# Amazon Linux 2023 does not package the compose plugin: the pinned release is downloaded from GitHub
# (the instance needs a route to github.com) into this run's directory, and only a file that matches
# its pinned SHA-256 is copied into the plugin directory, under a temporary name renamed into place. No
# checksum, no download; a killed download leaves nothing in the plugin directory.
download_compose() {
  local arch expected actual url download="$STAGE_DIR/docker-compose.download" target
  arch=$(uname -m)
  case "$arch" in
    x86_64) expected=$COMPOSE_SHA256_X86_64 ;;
    aarch64) expected=$COMPOSE_SHA256_AARCH64 ;;
    *) fail "docker compose is downloaded for x86_64 and aarch64 only, not '$arch'" ;;
  esac
  [[ "$expected" =~ ^[a-f0-9]{64}$ ]] \
    || fail "no SHA-256 is pinned for docker compose $COMPOSE_VERSION on $arch: set app.composeSha256.$arch from the release's docker-compose-linux-$arch.sha256"
  url="https://github.com/docker/compose/releases/download/${COMPOSE_VERSION}/docker-compose-linux-${arch}"
  cap_wait "$UNBOUNDED" "downloading docker compose"
  local code=0
  run_bounded "downloading docker compose from $url" "$UNBOUNDED" \
    curl -fsSL --retry 3 --connect-timeout "$DOWNLOAD_CONNECT_SECONDS" --max-time "$WAIT" -o "$download" "$url" \
    || code=$?
  [ "$code" -eq 0 ] \
    || fail "downloading docker compose from $url failed (curl exit $code): the instance needs a route to github.com (NAT gateway or proxy)"
  actual=$(sha256sum "$download" | cut -d ' ' -f 1)
  [ "$actual" = "$expected" ] \
    || fail "docker compose $COMPOSE_VERSION for $arch has SHA-256 $actual, not the pinned $expected: not installed"
  mkdir -p "$COMPOSE_PLUGIN_DIR"
  # Copies left by an earlier version that downloaded here, or by a run killed while copying.
  rm -f "$COMPOSE_PLUGIN_DIR"/.docker-compose.*
  target="$COMPOSE_PLUGIN_DIR/.docker-compose.$$"
  install -m 0755 "$download" "$target"
  mv -f "$target" "$COMPOSE_PLUGIN_DIR/docker-compose"
  say "docker compose $COMPOSE_VERSION ($arch) installed, SHA-256 verified"
}

# The version the installed compose reports, as X.Y.Z ("Docker Compose version v2.29.7", Ubuntu's
# "2.24.6+ds1-0ubuntu2"); empty when none is usable or it names none.
compose_version() {
  local out
  out=$(docker compose version 2>/dev/null) || return 0
  if [[ "$out" =~ v?([0-9]+\.[0-9]+\.[0-9]+) ]]; then echo "${BASH_REMATCH[1]}"; fi
}

# On Amazon Linux, COMPOSE_VERSION is the release to run: an installed compose of another version (one
# an earlier document version downloaded, say, into a warm-pool instance, or one baked into the AMI) is
# replaced by it, and one of that version is left alone. Ubuntu's compose is the archive's
# docker-compose-v2, whatever its version: COMPOSE_VERSION names the download only.
install_compose() {
  step install-compose
  local have want=${COMPOSE_VERSION#v}
  if docker compose version >/dev/null 2>&1; then
    have=$(compose_version)
    if [ "$OS" != amzn ]; then
      say "docker compose ${have:-(version unknown)} already installed; skipping"
      return
    fi
    if [ "$have" = "$want" ]; then
      say "docker compose $COMPOSE_VERSION already installed; skipping"
      return
    fi
    say "docker compose ${have:-of an unknown version} is installed, $COMPOSE_VERSION is configured: installing $COMPOSE_VERSION"
  fi
  case "$OS" in
    ubuntu) apt_install docker-compose-v2 ;;
    amzn) download_compose ;;
  esac
  docker compose version >/dev/null 2>&1 || fail "docker compose is not usable after install"
  if [ "$OS" = amzn ]; then
    have=$(compose_version)
    [ "$have" = "$want" ] \
      || fail "docker compose reports ${have:-no version} after $COMPOSE_VERSION was installed into $COMPOSE_PLUGIN_DIR: another docker-compose plugin takes precedence (root's ~/.docker/cli-plugins?); remove it, or set composeVersion to the one it is"
  fi
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
  account=$(run_bounded "aws sts get-caller-identity" "$UNBOUNDED" \
    aws sts get-caller-identity --region "$AWS_REGION_NAME" --query Account --output text)
  [[ "$account" =~ ^[0-9]{12}$ ]] || fail "sts get-caller-identity returned '$account', not an account id"
  export ECR_REGISTRY="${account}.dkr.ecr.${AWS_REGION_NAME}.amazonaws.com"
  say "registry $ECR_REGISTRY"
}

ecr_login() {
  step ecr-login
  LOGGED_IN=yes
  if [ "$USES_ECR" != "true" ]; then say "no ECR images; skipping"; return; fi
  # The password goes from one process to the other through a pipe: never in argv, never printed.
  run_bounded "aws ecr get-login-password" "$UNBOUNDED" aws ecr get-login-password --region "$AWS_REGION_NAME" \
    | run_bounded "docker login" "$UNBOUNDED" docker login --username AWS --password-stdin "$ECR_REGISTRY" >/dev/null
  say "logged in to $ECR_REGISTRY"
}

compose() {
  run_bounded "docker compose $1" "$UNBOUNDED" docker compose --project-name "$PROJECT" --file "$COMPOSE_FILE" "$@"
}

# compose before v2.37 resolves every service's env_file for every command, pull included, and fails on
# a missing one (docker/compose#12081). The env file is written only at write-env, after the pull (and
# never in the warm pool's prepare phase): until then an empty one (0600) stands in. An existing env
# file is never touched here: appending nothing creates the file without truncating it.
ensure_env_file() {
  if [ ! -e "$ENV_FILE" ]; then
    (umask 077 && : >>"$ENV_FILE")
    echo "launchgate: created an empty $ENV_FILE (0600) for compose until write-env fills it" >&2
  fi
}

# Pulls the images of the services named (every service's when none is). A pull that fails fails the
# bootstrap: an instance never starts (or goes into service) on images whose current version it could
# not check. The pull's own error is on stderr.
pull_images() {
  step pull-images
  ensure_env_file
  local code=0
  compose pull --quiet "$@" || code=$?
  [ "$code" -eq 0 ] \
    || fail_with "$code" "docker compose pull failed (exit $code): cannot tell whether the cached images are the ones the compose file names now; not starting on them (see the pull's error on stderr)"
}

# The parameters under SECRETS_PATH as `aws ssm get-parameters-by-path` lists them (JSON).
list_parameters() {
  if [ -z "$SECRETS_PATH" ]; then echo '[]'; return; fi
  run_bounded "aws ssm get-parameters-by-path" "$UNBOUNDED" \
    aws ssm get-parameters-by-path --region "$AWS_REGION_NAME" --path "$SECRETS_PATH" \
    --recursive --with-decryption --query 'Parameters[].[Name,Value]' --output json
}

# The decrypted listing never touches the disk: it goes from the AWS CLI to write-env.py through a
# pipe. The env file is written into this run's 0600 directory and replaces the live one only once
# complete; a run killed meanwhile leaves it there, and the next run's sweep removes it. write-env.py
# quotes every value so compose reads it back exactly, and refuses what it cannot write (naming the
# parameter, never the value).
write_env() {
  step write-env
  local statuses out="$STAGE_DIR/write-env.out" errors="$STAGE_DIR/write-env.err"
  ENV_TMP=$(umask 077 && mktemp "$STAGE_DIR/app.env.XXXXXX")
  set +e
  list_parameters | python3 "$STAGE_DIR/write-env.py" - "$ENV_TMP" >"$out" 2>"$errors"
  statuses=("${PIPESTATUS[@]}")
  set -e
  # 141 (SIGPIPE) only means the writer stopped reading: its own error says why.
  if [ "${statuses[0]}" -ne 0 ] && [ "${statuses[0]}" -ne 141 ]; then
    fail_with "${statuses[0]}" "reading the parameters under $SECRETS_PATH failed (exit ${statuses[0]}): see the AWS CLI's error above"
  fi
  if [ "${statuses[1]}" -ne 0 ]; then
    local why
    why=$(head -c 2000 "$errors")
    fail "cannot write $ENV_FILE: ${why:-write-env.py failed}"
  fi
  chmod 0600 "$ENV_TMP"
  mv -f "$ENV_TMP" "$ENV_FILE"
  ENV_TMP=""
  say "wrote $(cat "$out") variables from ${SECRETS_PATH:-nowhere} to $ENV_FILE (0600)"
}

# A launch creates the containers. A re-bootstrap or a remediation comes to restart them, which `up`
# alone does not: it recreates only containers whose configuration or image changed, and leaves a hung
# but running one (the usual cause of the alarm) as it is (docs/aws-facts.md). So those recreate every
# container, then check that each one's start time changed: a restart that did not happen fails here,
# naming the service, instead of as a health check that times out on the same hung container.
compose_up() {
  step compose-up
  if [ "$TRIGGER" = launch ]; then
    compose up --detach --remove-orphans --quiet-pull
    return
  fi
  local before
  before=$(start_times)
  compose up --detach --remove-orphans --quiet-pull --force-recreate
  check_restarted "$before"
}

# "<container name> <service> <start time>" for every container of the project, stopped ones included.
start_times() {
  local ids
  ids=$(compose ps --all --quiet)
  if [ -z "$ids" ]; then return; fi
  # shellcheck disable=SC2086 # one argument per container id
  run_bounded "docker inspect" "$UNBOUNDED" docker inspect --format \
    '{{.Name}} {{index .Config.Labels "com.docker.compose.service"}} {{.State.StartedAt}}' $ids
}

# Containers are matched by name, which compose keeps when it recreates one (its id changes).
check_restarted() {
  local -A was=()
  local name service started after unchanged=""
  while read -r name service started; do
    if [ -n "$name" ]; then was[$name]=$started; fi
  done <<<"$1"
  after=$(start_times)
  [ -n "$after" ] || fail "docker compose up left no container of project $PROJECT"
  while read -r name service started; do
    if [ "${was[$name]:-}" = "$started" ]; then
      unchanged+="${unchanged:+; }service $service was not restarted (started $started, unchanged)"
    elif [ -n "${was[$name]:-}" ]; then
      say "service $service restarted (started $started, was ${was[$name]})"
    else
      say "service $service started $started (it had no container)"
    fi
  done <<<"$after"
  [ -z "$unchanged" ] \
    || fail "$unchanged: docker compose up --force-recreate did not recreate it (see its output on stderr)"
}

# What a prepare depends on, as this document has it: the script (what preparing means), the compose
# file (which images) and the settings (compose version, registry). Each SSM document version stages its
# own copies, moved into $ROOT under the lock (install-files), so their hash names the document version
# as far as a prepare is concerned.
document_hash() {
  cat "$ROOT/bootstrap.sh" "$COMPOSE_FILE" "$ROOT/settings.env" | sha256sum | cut -d ' ' -f 1
}

# After the pull: this document version's prepare is done on this instance. Replaced whole, never
# half-written: a run killed meanwhile leaves the previous marker (or none), and the next start prepares.
mark_prepared() {
  document_hash >"$ROOT/.prepared.new"
  mv -f "$ROOT/.prepared.new" "$PREPARED_FILE"
}

# A start on an instance prepared by another document version (the stack was updated while it waited in
# the warm pool), or by none (a launchgate before this marker, or a prepare that did not finish),
# prepares again first: new images, and whatever the new script's prepare does (install-compose, which
# every run passes, has already brought a new compose version).
#
# A start out of the warm pool (trigger launch) pulls again even when this document version prepared
# it, but only the services whose image can move (REPULL_SERVICES: no tag, latest, or a tag that does not
# look like a version; decided at synth, infra/bootstrap/image-pinning.ts): such an image
# (cnt-backend:latest) may have been pushed again since, without any change to the document, and `up`
# runs what the cache holds (it pulls only missing images). So the warm instance runs the build a cold
# launch would run now; the layers are cached, so a moved tag fetches only its changed layers. A pinned
# image (a digest, or a version tag) is started from the copy the prepare pulled: its registry is not
# asked again (Docker Hub's anonymous pull limit, which every instance behind one NAT address shares,
# counts a manifest check too: docs/aws-facts.md, instance bootstrap). With no moving image the start
# pulls nothing.
# A re-bootstrap or remediation start (trigger rebootstrap, remediate) restarts what the instance runs
# and pulls nothing: phase all is the one that brings new images to a serving instance.
prepare_if_outdated() {
  local now was=""
  now=$(document_hash)
  if [ -f "$PREPARED_FILE" ]; then was=$(head -c 64 "$PREPARED_FILE"); fi
  if [ "$was" = "$now" ]; then
    if [ "$TRIGGER" != launch ]; then
      say "prepared by this document version (${now:0:12}); nothing to pull (trigger $TRIGGER)"
      return
    fi
    # An empty list is no pull at all (pull_images with no name would pull every service).
    local -a moving=()
    read -r -a moving <<<"$REPULL_SERVICES"
    if [ ${#moving[@]} -eq 0 ]; then
      say "prepared by this document version (${now:0:12}); every image is pinned (a digest or a version tag): starting on the images the prepare pulled, nothing to pull"
      return
    fi
    say "prepared by this document version (${now:0:12}); pulling again before going into service the services whose tag can move: ${moving[*]} (only changed layers are fetched)"
    ecr_login
    pull_images "${moving[@]}"
    return
  fi
  if [ -n "$was" ]; then
    say "prepared by another document version (${was:0:12}, this one is ${now:0:12}): preparing again"
  else
    say "no prepare of this document version on record (this one is ${now:0:12}): preparing again"
  fi
  ecr_login
  pull_images
  mark_prepared
}

wait_healthy() {
  step health-check
  cap_wait "${HEALTH_TIMEOUT_SECONDS:-180}" "the health check"
  local limit=$WAIT until=$((SECONDS + WAIT))
  until curl -fsS -o /dev/null --max-time 5 "$HEALTH_URL" 2>/dev/null; do
    if [ "$SECONDS" -ge "$until" ]; then
      WAIT=$limit
      timeout --foreground 5 docker compose --project-name "$PROJECT" --file "$COMPOSE_FILE" \
        ps --format 'table {{.Service}}\t{{.State}}\t{{.Status}}' || true
      fail "$HEALTH_URL did not answer 2xx within ${limit}s$(cut_by_deadline "${HEALTH_TIMEOUT_SECONDS:-180}")"
    fi
    sleep 3
  done
  say "$HEALTH_URL is healthy"
}

# Sets RUNNING to the ids of the project's running containers. Not `[ -n "$(compose ps …)" ]`: a
# compose ps that fails (or finds no time left) inside $(…) would read as "no container running".
list_running() {
  RUNNING=$(compose ps --quiet --status running) \
    || fail "docker compose ps failed (exit $?): cannot tell whether the app's containers still run"
}

# The drain phase. No lock and no install: a bootstrap still running (it holds the lock) must not delay
# the drain past its limit, and the live compose file is the one the app was started from. The wait is
# bounded by DRAIN_TIMEOUT_SECONDS and by the execution timeout, whichever ends first.
drain() {
  step drain
  [[ "$DRAIN_TIMEOUT_SECONDS" =~ ^[0-9]+$ ]] \
    || fail "settings.env has no DRAIN_TIMEOUT_SECONDS: groups[].drain is not configured for this group"
  if [ ! -f "$COMPOSE_FILE" ] || ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    say "no app on this instance (no $COMPOSE_FILE or no docker): nothing to drain"
    CURRENT_STEP="finished"
    say "drain finished (nothing to drain)"
    exit 0
  fi
  ensure_env_file
  list_running
  if [ -z "$RUNNING" ]; then
    say "no running container of project $PROJECT: nothing to drain"
  else
    # The app's containers restart unless-stopped: a container the signal ends must stay ended. Whether
    # Docker counts a kill as a manual stop depends on its version and the signal (moby/moby#53415), so
    # the policy is switched off first rather than relied upon. The containers are removed below anyway.
    # A container gone meanwhile makes it fail: the drain goes on (at worst one is restarted and the
    # drain is cut at its limit); a daemon that does not answer fails it, as the signal would hang too.
    # shellcheck disable=SC2086 # RUNNING is a list of container ids, one a word
    run_bounded "docker update --restart=no" "$DRAIN_UPDATE_SECONDS" docker update --restart=no $RUNNING >/dev/null \
      || say "docker update --restart=no failed (exit $?): a container ending on $DRAIN_SIGNAL may be restarted by its policy; draining on"
    compose kill --signal "$DRAIN_SIGNAL"
    say "sent $DRAIN_SIGNAL to the containers of project $PROJECT; waiting up to ${DRAIN_TIMEOUT_SECONDS}s for them to exit"
    cap_wait "$DRAIN_TIMEOUT_SECONDS" "the drain"
    # Cut by the deadline, the wait ends DRAIN_STOP_SECONDS before it: stopping what is left is itself
    # bounded by the deadline, and a drain that cannot stop its containers has not ended cleanly.
    local room=$((DEADLINE - SECONDS - DRAIN_STOP_SECONDS))
    if [ "$WAIT" -gt "$room" ]; then WAIT=$((room > 0 ? room : 0)); fi
    local limit=$WAIT until=$((SECONDS + WAIT)) started=$SECONDS
    while list_running && [ -n "$RUNNING" ]; do
      if [ "$SECONDS" -ge "$until" ]; then
        step stop-containers
        compose down --timeout 0 --remove-orphans
        WAIT=$limit
        fail_with 3 "drain overran its limit of ${limit}s$(cut_by_deadline "$DRAIN_TIMEOUT_SECONDS"): the containers still running were killed"
      fi
      sleep "$DRAIN_POLL_SECONDS"
    done
    say "the containers of project $PROJECT exited after $((SECONDS - started))s"
  fi
  step stop-containers
  compose down --remove-orphans
  CURRENT_STEP="finished"
  say "drain finished (phase drain)"
}

main() {
  say "bootstrap starting (phase $PHASE, trigger $TRIGGER)"
  load_settings
  if [ "$PHASE" = drain ]; then drain; return; fi
  take_lock
  install_files
  prerequisites
  install_docker
  install_compose
  export_registry
  if [ "$PHASE" != start ]; then
    ecr_login
    pull_images
    mark_prepared
  else
    prepare_if_outdated
  fi
  if [ "$PHASE" != prepare ]; then
    [ -n "$LOGGED_IN" ] || ecr_login  # a warm instance may have been stopped since its login
    write_env
    compose_up
    wait_healthy
  fi
  CURRENT_STEP="finished"
  say "bootstrap finished (phase $PHASE)"
}

main
