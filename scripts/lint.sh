#!/usr/bin/env bash
# ansible-lint with the production profile (.ansible-lint), in its own venv so its
# dependencies never touch the project's.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
VENV="$ROOT/.build/lint-venv"
want="ansible-lint>=26,<27 ansible-core>=2.16,<2.20"
if [ ! -x "$VENV/bin/ansible-lint" ] || [ "$(cat "$VENV/.stamp" 2>/dev/null)" != "$want" ]; then
  python3 -m venv "$VENV"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install -q $want
  echo "$want" > "$VENV/.stamp"
fi
out=$(mktemp)
trap 'rm -f "$out"' EXIT
status=0
PATH="$VENV/bin:$PATH" "$VENV/bin/ansible-lint" --profile production -q --nocolor >"$out" 2>&1 || status=$?
cat "$out"
# an ERROR line on a passing run (a file ansible-lint could not load) means something was not linted
if grep -q "ERROR" "$out"; then
  echo "lint: ansible-lint reported ERROR lines (above): fix them, they hide files from the lint" >&2
  exit 1
fi
exit "$status"
