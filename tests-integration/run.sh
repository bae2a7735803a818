#!/usr/bin/env bash
# make test-integration: every wheel (built, not editable) + MLflow in one fresh venv, `pip check`,
# then the integration suite against real servers. MLFLOW_VERSION=<v> pins MLflow (floor runs; default: the lock's).
set -euo pipefail
cd "$(dirname "$0")/.."
bash tools/install-system.sh
command -v uv >/dev/null || python3 -m pip install -q uv
venv="${INTEGRATION_VENV:-$PWD/.venv-integration}"
wheels="$PWD/dist-integration"
rm -rf "$wheels" "$venv"
mkdir -p "$wheels"
echo "# building wheels" >&2
for d in shared tools/testenv-lib packages/*/; do uv build -q --wheel -o "$wheels" "$d"; done
uv venv -q "$venv" --python "${PYTHON:-python3}"
pins=()
# default: the MLflow of the lock (constraints.txt), which `make upgrade-mlflow` moves
pins+=("mlflow==${MLFLOW_VERSION:-$(python3 tools/mlflow_lock.py version)}")
# every plugin with all its optional extras, so each scheme/backend can resolve
specs=()
for w in "$wheels"/*.whl; do
  name=$(basename "$w" | cut -d- -f1)
  extras=$(python3 tools/package_extras.py "packages/${name//_/-}" --except test)  # dist name = folder name
  specs+=("${name//_/-}${extras:+[$extras]} @ file://$w")
done
echo "# installing ${#specs[@]} wheels into $venv" >&2
uv pip install -q --python "$venv/bin/python" "${pins[@]}" "${specs[@]}" \
  pytest pytest-xdist pytest-timeout scikit-learn playwright psycopg2-binary pymysql "moto[server]"
if ! "$venv/bin/python" -c "import mlflow.store.db.utils" 2>/dev/null; then
  echo "# this MLflow cannot import its DB layer with the newest SQLAlchemy: pinning sqlalchemy<2.1" >&2
  uv pip install -q --python "$venv/bin/python" "sqlalchemy<2.1"
fi
if grep -q "app.route(" "$("$venv/bin/python" -c 'import mlflow.pyfunc.scoring_server as s; print(s.__file__)')" \
   && ! "$venv/bin/python" -c "from fastapi import FastAPI; assert hasattr(FastAPI(), 'route')" 2>/dev/null; then
  echo "# this MLflow's scoring server uses FastAPI.route, gone from the newest FastAPI/Starlette: pinning fastapi<0.130, starlette<1" >&2
  uv pip install -q --python "$venv/bin/python" "fastapi<0.130" "starlette<1"
fi
echo "# pip check" >&2
uv pip check --python "$venv/bin/python"
"$venv/bin/python" -c "import mlflow; print('# MLflow', mlflow.__version__)"
# the testenv wheel does not carry the repo's k8s build script: point it there
export MLFLOW_TESTENV_K8S_BUILD_SCRIPT="${MLFLOW_TESTENV_K8S_BUILD_SCRIPT:-$PWD/tools/k8s/build.sh}"
"$venv/bin/python" -m pytest -p no:cacheprovider --import-mode=importlib -o addopts="" -ra -n "${INTEGRATION_WORKERS:-0}" --timeout 1200 tests-integration "$@"
