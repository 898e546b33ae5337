#!/usr/bin/env bash
# ansible-test sanity on a copy of the collection at <tmp>/ansible_collections/predictive/mirroring
# (ansible-test wants the collection at that path; the copy holds exactly the files git would ship, and
# lies outside this work tree so that ansible-test does not take its file list from our git).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PY="$ROOT/.venv/bin/python"
pip_version=$("$PY" - <<'PY'
import re, ansible_test, os
src = open(os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")).read()
print(re.search(r"pip='([0-9.]+)'", src).group(1))
PY
)
cache="$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py"
mkdir -p "$(dirname "$cache")"
cp "$ROOT/scripts/get_pip_standin.py" "$cache"

work=$(mktemp -d "${TMPDIR:-/tmp}/pm-sanity.XXXXXX")
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/predictive/mirroring"
mkdir -p "$dest"
cd "$ROOT"
git ls-files -co --exclude-standard -z | grep -zv '^ansible_collections/' | xargs -0 cp --parents -P -t "$dest"
cd "$dest"
PATH="$ROOT/.venv/bin:$PATH" "$ROOT/.venv/bin/ansible-test" sanity --python 3.11 --requirements --color no "$@"
