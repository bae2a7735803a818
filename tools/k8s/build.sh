#!/usr/bin/env bash
# Build the `k8s` test cluster's binaries and cache them (only the first run on a machine pays).
#
#   tools/k8s/build.sh                         # the default version; prints the cache directory
#   tools/k8s/build.sh --print-dir             # print the cache directory if filled, else exit 1
#   K8S_VERSION=v1.29.15 tools/k8s/build.sh    # another Kubernetes release (the compat job)
#
# kube-apiserver and kube-controller-manager from the Go module proxy (`go mod download -json
# k8s.io/kubernetes@<v>`, the module's ./staging replace directives pointed at the published k8s.io/*
# v0.<minor>.<patch> modules, go.work dropped, `go build ./cmd/...`), and etcd from the Go module proxy
# too (a five-line main calling etcdmain.Main).  Only `go` fetches.
# Cache: $MLFLOW_PLUGINS_CACHE or $XDG_CACHE_HOME/mlflow-plugins or ~/.cache/mlflow-plugins, then
# k8s/<version>-<first 12 hex of this script's sha256>/ (a changed script builds anew).
set -euo pipefail

default_version=v1.37.2
version="${K8S_VERSION:-$default_version}"
case "$version" in v*) ;; *) version="v$version" ;; esac
if ! [[ "$version" =~ ^v1\.([0-9]+)\.([0-9]+)$ ]]; then
  echo "[k8s-build] K8S_VERSION must be a Kubernetes release like v1.37.2, got '${K8S_VERSION:-}'" >&2
  exit 2
fi
minor="${BASH_REMATCH[1]}"
patch="${BASH_REMATCH[2]}"
etcd_version="${K8S_ETCD_VERSION:-v3.7.3}"
cache_root="${MLFLOW_PLUGINS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/mlflow-plugins}/k8s"
script_hash="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-12)"

log() { echo "[k8s-build] $*" >&2; }

dest="$cache_root/$version-$script_hash"
binaries=(kube-apiserver kube-controller-manager etcd)

filled() {
  local b
  for b in "${binaries[@]}"; do [ -x "$dest/$b" ] || return 1; done
}

if filled; then
  echo "$dest"
  exit 0
fi
if [ "${1:-}" = "--print-dir" ]; then  # only ask whether the cache is filled
  exit 1
fi

sudo_cmd=()
if [ "$(id -u)" != 0 ]; then sudo_cmd=(sudo); fi
apt_missing() {
  if [ $# -gt 0 ]; then
    log "installing build tools: $*"
    "${sudo_cmd[@]}" apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "$@" >&2
  fi
}

# one build at a time per machine; a second caller waits and then finds the cache filled
command -v flock >/dev/null || apt_missing util-linux
mkdir -p "$cache_root"
exec 9>"$cache_root/.build.lock"
flock 9
if filled; then
  echo "$dest"
  exit 0
fi

work="$(mktemp -d "${TMPDIR:-/tmp}/k8s-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/out"

install_dest() {  # the finished binaries, atomically
  local tmpdest
  tmpdest="$(mktemp -d "$cache_root/.partial.XXXXXX")"
  cp "$work/out/"* "$tmpdest/"
  printf '%s' "$1" >"$tmpdest/BUILD-INFO"
  chmod 755 "$tmpdest" "$tmpdest"/*
  chmod 644 "$tmpdest/BUILD-INFO"
  rm -rf "$dest"
  mv "$tmpdest" "$dest"
  log "done: $dest"
  echo "$dest"
}

build_from_go_proxy() {
  local go_bin
  go_bin="$(command -v go || true)"
  [ -n "$go_bin" ] || { [ -x /usr/local/go/bin/go ] && go_bin=/usr/local/go/bin/go; }
  if [ -z "$go_bin" ]; then
    log "no Go toolchain: install Go (1.26 builds v1.37) and put it on PATH"
    exit 1
  fi
  export PATH="$(dirname "$go_bin"):$PATH"
  unset GOFLAGS GO111MODULE GOWORK
  export GOTOOLCHAIN="${GOTOOLCHAIN:-local}" CGO_ENABLED=0
  local staging="v0.$minor.$patch" started kv ldflags c secs src

  log "Building kube-apiserver + kube-controller-manager $version and etcd $etcd_version with $(go version)"
  log "from the Go module proxy; once per machine (~12 min on 2 idle cores, ~50 min measured on a busy machine)."
  started=$(date +%s)
  local info commit
  info="$(go mod download -json "k8s.io/kubernetes@$version")"
  src="$(sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p' <<<"$info")"
  commit="$(sed -n 's/^[[:space:]]*"Hash": "\([0-9a-f]*\)",*$/\1/p' <<<"$info" | head -n1)"  # the tag's commit
  [ -n "$src" ] && [ -f "$src/go.mod" ] || { log "go mod download k8s.io/kubernetes@$version gave no module dir"; exit 1; }
  cp -r "$src" "$work/kubernetes"
  chmod -R u+w "$work/kubernetes"
  cd "$work/kubernetes"
  rm -f go.work go.work.sum
  # k8s.io/api => ./staging/src/k8s.io/api  becomes  k8s.io/api => k8s.io/api v0.<minor>.<patch>
  sed -i -E "s#^([[:space:]]*)(k8s\.io/[A-Za-z0-9._-]+) => \./staging/src/k8s\.io/[A-Za-z0-9._-]+[[:space:]]*\$#\1\2 => \2 $staging#" go.mod
  if grep -q '=> \./staging' go.mod; then
    log "go.mod still has ./staging replace directives after rewriting:"; grep '=> \./staging' go.mod >&2; exit 1
  fi
  kv=k8s.io/component-base/version
  ldflags="-s -w -X $kv.gitVersion=$version -X $kv.gitMajor=1 -X $kv.gitMinor=$minor"
  ldflags+=" -X $kv.gitTreeState=clean -X $kv.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
  [ -z "$commit" ] || ldflags+=" -X $kv.gitCommit=$commit"
  local timings=""
  for c in kube-apiserver kube-controller-manager; do
    secs=$(date +%s)
    log "go build ./cmd/$c (be patient)"
    nice go build -mod=mod -trimpath -buildvcs=false -ldflags "$ldflags" -o "$work/out/$c" "./cmd/$c" >&2
    timings+="$c=$(( $(date +%s) - secs ))s "
  done

  secs=$(date +%s)
  mkdir -p "$work/etcd"
  cd "$work/etcd"
  cat >main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  printf 'module mlflow-plugins.local/etcd\n\ngo 1.24\n' >go.mod
  log "go build etcd $etcd_version (go.etcd.io/etcd/server/v3/etcdmain)"
  go get "go.etcd.io/etcd/server/v3@$etcd_version" >&2
  go mod tidy >&2
  nice go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$work/out/etcd" . >&2
  timings+="etcd=$(( $(date +%s) - secs ))s total=$(( $(date +%s) - started ))s"
  log "build times: $timings"
  install_dest "$(printf 'source=go-module-proxy\ngit_version=%s\nstaging=%s\netcd=%s\ngo=%s\nscript_sha256=%s\nbuild_seconds=%s\n' \
    "$version" "$staging" "$etcd_version" "$(go version)" "$script_hash" "$timings")"
}

build_from_go_proxy
