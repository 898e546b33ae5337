#!/usr/bin/env bash
# The README's test command: bootstrap, then ansible-test sanity, ansible-lint, unit and
# integration tests (pytest, against the real simulator, HAProxy and
# PostgreSQL, in parallel workers), and the molecule scenarios. Non-zero on any failure.
# Each phase's time is printed at the end, and pytest lists the 15 slowest tests.
#
#   bash scripts/test.sh           everything (what CI runs)
#   bash scripts/test.sh --quick   the inner loop: pep8 and pylint sanity, the unit tests and the
#                                  fastest end-to-end smoke test (reconcile on the simulator)
#
# PM_TEST_WORKERS sets the number of pytest workers (default 2, one per core: 3 finished sooner but
# slowed the heaviest end-to-end tests 2.3-fold, past their timeouts; README, "Tests").
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
quick=false
case "${1:-}" in
  --quick) quick=true ;;
  "") ;;
  *) echo "usage: bash scripts/test.sh [--quick]" >&2; exit 2 ;;
esac
workers="${PM_TEST_WORKERS:-2}"

timings=()
phase() {  # phase <name> <command...>: run it, remember how long it took
  local name=$1 start
  shift
  echo "==> $name"
  start=$(date +%s)
  "$@"
  timings+=("$(printf '%-10s %4d s' "$name" $(($(date +%s) - start)))")
}
report() {
  echo "==> phase times"
  printf '  %s\n' "${timings[@]}"
}
trap report EXIT

phase bootstrap bash scripts/bootstrap.sh

if $quick; then
  phase sanity bash scripts/sanity.sh --test pep8 --test pylint
  phase pytest .venv/bin/python -m pytest tests/unit \
    "tests/integration/test_reconcile.py::test_reconcile_holds_every_tier_and_a_second_run_changes_nothing" \
    -q -n "$workers" --durations=5
  exit 0
fi

phase sanity bash scripts/sanity.sh
phase lint bash scripts/lint.sh
# --dist loadfile: the tests of one file run on one worker in turn, the files with the slowest tests first
# (tests/conftest.py, SLOWEST_FIRST); each worker's parts have their own directories and ports. Test by test
# (--dist load/loadgroup) was tried: the replication tests, which share the postgres user's crontab, failed
# (README, "Tests")
phase pytest .venv/bin/python -m pytest tests/unit tests/integration -q -n "$workers" --dist loadfile --durations=15

molecule_all() {
  local s name
  for s in $(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml | sort); do
    name=$(basename "$(dirname "$s")")
    # the roles come from this tree: ansible_collections/predictive/mirroring links to it
    (cd extensions && PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$ROOT" ../.venv/bin/molecule test -s "$name")
  done
}
if [ -d extensions/molecule ]; then
  phase molecule molecule_all
fi
