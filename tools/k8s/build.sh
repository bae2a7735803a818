#!/usr/bin/env bash
# Build kube-apiserver and kube-controller-manager from Debian's `kubernetes` source package
# and cache them under ~/.cache/mlflow-plugins/k8s/<version>/ (only the first run pays).
#
#   tools/k8s/build.sh            # build if not cached; prints the cache directory on stdout
#   tools/k8s/build.sh --print-dir  # print the cache directory if filled, else exit 1
#   K8S_DEBIAN_VERSION=... K8S_DEBIAN_SUITE=... tools/k8s/build.sh
#
# The machine's apt sources are never edited: a private deb-src list and private apt state
# directories live in a throw-away work directory.  Needs root (or sudo) only to apt-get install
# missing build tools (golang-go, etcd-server, dpkg-dev, openssl, ca-certificates).
set -euo pipefail

suite="${K8S_DEBIAN_SUITE:-bookworm}"
deb_version="${K8S_DEBIAN_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
# upstream tag the source really is ("1.20.5+really1.20.2" ships 1.20.2)
git_version="${K8S_GIT_VERSION:-v1.20.2}"
mirror="${K8S_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
cache_root="${MLFLOW_PLUGINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-plugins}/k8s"
dest="$cache_root/$deb_version"
binaries=(kube-apiserver kube-controller-manager)

log() { echo "[k8s-build] $*" >&2; }

if [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kube-controller-manager" ]; then
  echo "$dest"
  exit 0
fi
if [ "${1:-}" = "--print-dir" ]; then  # only ask whether the cache is filled
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
missing=()
command -v go >/dev/null || missing+=(golang-go)
command -v etcd >/dev/null || missing+=(etcd-server)
command -v dpkg-source >/dev/null || missing+=(dpkg-dev)
command -v openssl >/dev/null || missing+=(openssl)
command -v make >/dev/null || missing+=(make)
command -v rsync >/dev/null || missing+=(rsync)
command -v jq >/dev/null || missing+=(jq)
command -v flock >/dev/null || missing+=(util-linux)
[ -e /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
[ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing build tools: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# one build at a time per machine; a second caller waits and then finds the cache filled
mkdir -p "$cache_root"
exec 9>"$cache_root/.build.lock"
flock 9
if [ -x "$dest/kube-apiserver" ] && [ -x "$dest/kube-controller-manager" ]; then
  echo "$dest"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/k8s-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/src"
chmod -R a+rwX "$work"   # apt drops to the _apt user for downloads
cat >"$work/apt/sources.list" <<SRC
deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror $suite main
SRC
apt_opts=(
  -o "Dir::Etc::SourceList=$work/apt/sources.list"
  -o "Dir::Etc::SourceParts=/dev/null"
  -o "Dir::State::Lists=$work/apt/lists"
  -o "Dir::Cache=$work/apt/cache"
)

log "Building kube-apiserver + kube-controller-manager $git_version (Debian kubernetes $deb_version, $suite)."
log "This happens once per machine (5-10 minutes on 2 free cores, much longer on a busy machine); binaries are cached in $dest"
log "fetching Debian source package index ($suite)"
apt-get "${apt_opts[@]}" update -qq >&2
(cd "$work/src" && apt-get "${apt_opts[@]}" source -qq --download-only "kubernetes=$deb_version" >&2)
(cd "$work/src" && dpkg-source --no-check -x ./*.dsc tree >/dev/null)

cd "$work/src/tree"
# Kubernetes 1.20's own build (hack/lib/init.sh) runs in GOPATH mode (GO111MODULE=off) with the
# vendored tree, exactly as Debian's debian/rules does; Go 1.19 still supports that.  The version
# comes from KUBE_GIT_VERSION since the tarball has no .git.
unset GOFLAGS GO111MODULE
export KUBE_GIT_VERSION="$git_version" KUBE_GIT_TREE_STATE=clean CGO_ENABLED=0
export GOLDFLAGS="-s -w"   # no symbols: smaller binaries, faster link
log "$(go version); compiling with: make WHAT=\"cmd/kube-apiserver cmd/kube-controller-manager\" (be patient)"
nice make WHAT="cmd/kube-apiserver cmd/kube-controller-manager" >&2
mkdir -p "$work/out"
for b in "${binaries[@]}"; do
  cp "$(ls _output/local/bin/*/*/"$b" | head -n1)" "$work/out/$b"
done

mkdir -p "$cache_root"
tmpdest="$(mktemp -d "$cache_root/.partial.XXXXXX")"
cp "$work/out/"* "$tmpdest/"
printf 'debian=%s\nsuite=%s\ngit_version=%s\ngo=%s\n' "$deb_version" "$suite" "$git_version" "$(go version)" >"$tmpdest/BUILD-INFO"
chmod 755 "$tmpdest" "$tmpdest"/kube-*
rm -rf "$dest"
mv "$tmpdest" "$dest"
log "done: $dest"
echo "$dest"
