#!/usr/bin/env bash
# The README's test command: bootstrap, then ansible-test sanity, ansible-lint, unit and
# integration tests (pytest, against the real simulator, HAProxy and
# PostgreSQL), and the molecule scenarios. Non-zero on any failure.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
bash scripts/bootstrap.sh

echo "==> ansible-test sanity"
bash scripts/sanity.sh

echo "==> ansible-lint (production profile)"
bash scripts/lint.sh

echo "==> unit and integration tests"
.venv/bin/python -m pytest tests/unit tests/integration -q --durations=15

scenarios=""
if [ -d extensions/molecule ]; then
  scenarios=$(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml | sort)
fi
if [ -n "$scenarios" ]; then
  echo "==> molecule"
  for s in $scenarios; do
    name=$(basename "$(dirname "$s")")
    # the roles come from this tree: ansible_collections/predictive/mirroring links to it
    (cd extensions && PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$ROOT" ../.venv/bin/molecule test -s "$name")
  done
fi
