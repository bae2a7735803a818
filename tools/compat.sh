#!/usr/bin/env bash
# make compat MLFLOW=<version>|latest|pre [PKG="<dist> ..."]: run tests against one MLflow version in its own venv.
# `latest` is the newest release on PyPI (whatever the lock says); `pre` the newest pre-release when PyPI
# has one newer than that (else there is nothing to test, and it says so).
set -euo pipefail
cd "$(dirname "$0")/.."
spec="$1"; pkg="${2:-}"
version=$(python3 tools/mlflow_lock.py resolve "$spec")
if [ -z "$version" ]; then
  echo "# MLflow $spec: PyPI has no pre-release newer than $(python3 tools/mlflow_lock.py resolve latest); nothing to test" >&2
  exit 0
fi
[ "$version" = "$spec" ] || echo "# MLflow $spec is $version" >&2
venv=".venv-compat-$version"
[ -x "$venv/bin/python" ] || uv venv -q "$venv" --python "${PYTHON:-python3}"
override=$(mktemp); echo "mlflow==$version" > "$override"
targets=()
if [ -n "$pkg" ]; then dirs=(); for p in $pkg; do dirs+=("packages/$p"); done; else dirs=(packages/*); fi
for d in "${dirs[@]}"; do
  test -f "$d/pyproject.toml" || { echo "no package $d" >&2; exit 2; }
  extras=$(python3 tools/package_extras.py "$d")
  targets+=(-e "$d${extras:+[$extras]}")
done
echo "# installing MLflow $version + ${dirs[*]} into $venv" >&2
uv pip install -q --python "$venv/bin/python" --override "$override" -r requirements-dev.txt -e shared -e tools/testenv-lib "${targets[@]}"
# Old MLflow releases can break on libraries released after them (e.g. MLflow 3.0 imports
# sqlalchemy.pool.FallbackAsyncAdaptedQueuePool, removed in SQLAlchemy 2.1): pin back what breaks.
if ! "$venv/bin/python" -c "import mlflow.store.db.utils" 2>/dev/null; then
  echo "# MLflow $version cannot import its DB layer with the newest SQLAlchemy: pinning sqlalchemy<2.1" >&2
  echo "sqlalchemy<2.1" >> "$override"
  uv pip install -q --python "$venv/bin/python" --override "$override" -r requirements-dev.txt -e shared -e tools/testenv-lib "${targets[@]}"
fi
# MLflow 3.0's scoring server (mlflow models serve) still uses FastAPI.route, gone from the newest FastAPI/Starlette.
if grep -q "app.route(" "$("$venv/bin/python" -c 'import mlflow.pyfunc.scoring_server as s; print(s.__file__)')" \
   && ! "$venv/bin/python" -c "from fastapi import FastAPI; assert hasattr(FastAPI(), 'route')" 2>/dev/null; then
  echo "# MLflow $version's scoring server uses FastAPI.route: pinning fastapi<0.130, starlette<1" >&2
  printf 'fastapi<0.130\nstarlette<1\n' >> "$override"
  uv pip install -q --python "$venv/bin/python" --override "$override" -r requirements-dev.txt -e shared -e tools/testenv-lib "${targets[@]}"
fi
"$venv/bin/python" -c "import mlflow.store.db.utils, mlflow; print('MLflow', mlflow.__version__)"
"$venv/bin/python" -m pytest -n auto "${dirs[@]}"
