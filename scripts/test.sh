#!/usr/bin/env bash
# The README's test command: bootstrap, then ansible-test sanity, ansible-lint and the molecule
# scenarios at once, then the unit and integration tests (pytest, against the real simulator,
# HAProxy and PostgreSQL, in parallel workers). Non-zero on any failure.
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

molecule_all() {  # every scenario, each to its end; non-zero when any failed (a failed scenario was not counted)
  local s name failed=()
  for s in $(find extensions/molecule -mindepth 2 -maxdepth 2 -name molecule.yml | sort); do
    name=$(basename "$(dirname "$s")")
    # the roles come from this tree: ansible_collections/predictive/mirroring links to it. Each scenario's state
    # (its inventory, the parts prepare started) lives in this checkout: molecule's default, ~/.ansible/tmp/molecule.
    # <hash of "extensions">.<scenario>, is the same for every clone, so two test commands at once shared it. The
    # history store the roles write by default is there too, not the user's ~/.local/share one.
    rm -rf "$ROOT/.build/molecule/$name"
    mkdir -p "$ROOT/.build/molecule/$name"
    # the scenarios that apply the replication role edit the postgres user's crontab, one per machine: they hold the
    # lock the replication tests hold (tests/rig/postgres.py, CRONTAB_LOCK), so a second test command waits its turn;
    # --close: the daemons a scenario starts (a WAL receiver) must not inherit it and hold it after the scenario
    local lock=()
    case "$name" in failover|replication) lock=(flock --close "${TMPDIR:-/tmp}/predictive-mirroring-postgres-crontab.lock") ;; esac
    (cd extensions && PATH="$ROOT/.venv/bin:$PATH" ANSIBLE_COLLECTIONS_PATH="$ROOT" \
      MOLECULE_EPHEMERAL_DIRECTORY="$ROOT/.build/molecule/$name" \
      PM_HISTORY_PATH="$ROOT/.build/molecule/$name/history.sqlite" "${lock[@]}" ../.venv/bin/molecule test -s "$name") \
      || failed+=("$name")
  done
  if [ "${#failed[@]}" -gt 0 ]; then
    echo "molecule: scenarios failed: ${failed[*]}" >&2
    return 1
  fi
}

# sanity, lint and the molecule scenarios at once: they share no state (sanity works on a copy of the tree, lint only
# reads it, molecule's roles act on this machine), and sanity and lint leave a core idle much of the time. Each
# writes its own log, printed in turn when all have ended; the time of each and of the whole group is reported.
together() {  # together <name>... : the phase commands named by <name>_cmd, run at once
  local logs name start pids=() status=0 i=0
  logs=$(mktemp -d "${TMPDIR:-/tmp}/pm-phases.XXXXXX")
  start=$(date +%s)
  for name in "$@"; do
    echo "==> $name (in parallel, log printed below when all have ended)"
    ( s=$(date +%s); rc=0; "${name}_cmd" >"$logs/$name.log" 2>&1 || rc=$?
      echo "$(($(date +%s) - s)) $rc" >"$logs/$name.status" ) &
    pids+=($!)
  done
  for name in "$@"; do
    wait "${pids[$i]}" || true
    i=$((i + 1))
  done
  for name in "$@"; do
    read -r secs rc <"$logs/$name.status"
    echo "==> $name: log (exit $rc, $secs s)"
    cat "$logs/$name.log"
    timings+=("$(printf '%-10s %4d s  (in parallel)' "$name" "$secs")")
    [ "$rc" = 0 ] || { echo "==> $name FAILED (exit $rc)" >&2; status=1; }
  done
  timings+=("$(printf '%-10s %4d s  (%s at once)' "together" $(($(date +%s) - start)) "$*")")
  rm -rf "$logs"
  return "$status"
}
sanity_cmd() { bash scripts/sanity.sh; }
lint_cmd() { bash scripts/lint.sh; }
molecule_cmd() { if [ -d extensions/molecule ]; then molecule_all; fi; }
together sanity lint molecule

# --dist loadgroup: each test goes to the next free worker, the slowest first (tests/conftest.py, SLOWEST_FIRST), but
# the tests of the files in ONE_WORKER (the postgres user's crontab, module-scoped parts) run on one worker in turn;
# each worker's parts have their own directories and ports (README, "Tests")
phase pytest .venv/bin/python -m pytest tests/unit tests/integration -q -n "$workers" --dist loadgroup --durations=15
