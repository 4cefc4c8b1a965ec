#!/usr/bin/env bash
# mypy cannot follow setuptools' package-dir mapping (processors/ is wismo.processors, ...), so check a
# throw-away view of the package in which the top-level folders sit where the installed package has them.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
view=$(mktemp -d)
trap 'rm -rf "$view"' EXIT
mkdir "$view/wismo"
for f in "$root"/wismo/*; do ln -s "$f" "$view/wismo/"; done
for d in processors handlers sinks streams; do ln -s "$root/$d" "$view/wismo/$d"; done
ln -s "$root/tests" "$view/tests"
ln -s "$root/bench" "$view/bench"
ln -s "$root/examples" "$view/examples"
cd "$view"
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" -p wismo
"$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" $(ls bench/*.py examples/*.py 2>/dev/null)
# Tests: checked too, but test functions and builders may leave their annotations out.
MYPYPATH=tests "$root/.venv/bin/mypy" --config-file "$root/pyproject.toml" --allow-untyped-defs \
  --allow-untyped-calls --allow-incomplete-defs tests
