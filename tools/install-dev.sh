#!/usr/bin/env bash
# Sets up .venv: uv, shared/, tools/testenv-lib and every package editable, plus the test tools, all at
# the versions of the lock (constraints.txt: MLflow as last tested; `make upgrade-mlflow` moves it).
# Idempotent and quick when nothing changed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VENV:-$PWD/.venv}"
stamp="$VENV/.installed"
inputs=$(cat constraints.txt requirements-dev.txt shared/pyproject.toml tools/testenv-lib/pyproject.toml packages/*/pyproject.toml | sha256sum | cut -c1-16)
bash tools/install-system.sh
# The k8s test cluster's binaries (kube-apiserver, kube-controller-manager v1.37.2, etcd) are built once
# with go from the Go module proxy and cached (~12 min on 2 free cores the first time, ~50 on a busy
# machine); doing it here keeps it out of any test's timeout. A second run finds them cached.
if [ -x tools/k8s/build.sh ] && ! tools/k8s/build.sh --print-dir >/dev/null 2>&1; then
  echo "# building the Kubernetes test binaries once (cached under ~/.cache/mlflow-plugins/k8s)" >&2
  bash tools/k8s/build.sh
fi
# Elasticsearch 8.19.21 and OpenSearch 3.6.0 (the default test engines) from Maven Central, unpacked
# once per version (/var/cache/mlflow-plugins as root, else ~/.cache/mlflow-plugins); quick when cached.
fetch_engines() { "$VENV/bin/python" -m mlflow_testenv install es opensearch; }
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$inputs" ] && [ -x "$VENV/bin/python" ]; then fetch_engines; exit 0; fi
if ! command -v uv >/dev/null 2>&1; then
  echo "# installing uv (fast resolver/installer) with pip" >&2
  python3 -m pip install -q uv || { echo "could not install uv: pip install uv" >&2; exit 1; }
fi
[ -x "$VENV/bin/python" ] || uv venv -q "$VENV" --python "${PYTHON:-python3}"
editables=(-e shared -e tools/testenv-lib)
for p in packages/*/; do
  extras=$(python3 tools/package_extras.py "$p")
  if [ -n "$extras" ]; then editables+=(-e "${p%/}[$extras]"); else editables+=(-e "${p%/}"); fi
done
echo "# installing the dev environment into $VENV" >&2
uv pip install -q --python "$VENV/bin/python" -c constraints.txt -r requirements-dev.txt "${editables[@]}"
echo "$inputs" > "$stamp"
fetch_engines
