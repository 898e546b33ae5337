"""The model registry as an ensure (fps_model's core), without Ansible or the simulator: a real SQLite store and the
bundled model. Check mode reports and writes nothing; a real run registers and promotes; a second run changes nothing."""
from __future__ import annotations

import os

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import training
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from ansible_collections.predictive.mirroring.plugins.module_utils.model import read_manifest
from ansible_collections.predictive.mirroring.plugins.module_utils.task import Task

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
BUNDLED = os.path.join(ROOT, "models", "default", "model.joblib")


def params(tmp_path, **kw):
    return dict({"history_path": str(tmp_path / "history.sqlite"), "history_dsn": None, "register": None,
                 "promote": None, "trusted_keys": None, "allow_unsigned_model": False, "why": None}, **kw)


def stored(tmp_path):
    with History(str(tmp_path / "history.sqlite")) as h:
        return [m["sha256"] for m in h.models()], h.current_model_sha()


def test_register_and_promote_in_check_mode_then_for_real_then_again(tmp_path):
    sha = read_manifest(BUNDLED)["sha256"]
    p = params(tmp_path, register=BUNDLED, promote="registered", why="first model")
    out = training.registry_task(p, Task(check_mode=True))
    assert out["changed"] and out["registered"] and out["current"] == sha and out["previous"] is None
    assert out["diff"] == {"before": {"current": None}, "after": {"current": sha}}
    assert stored(tmp_path) == ([], None)  # nothing written
    out = training.registry_task(p, Task())
    assert out["changed"] and out["registered"] and out["current"] == sha
    assert "bundled" in out["origin"]
    assert stored(tmp_path) == ([sha], sha)
    out = training.registry_task(p, Task())
    assert not out["changed"] and not out["registered"] and out["previous"] == out["current"] == sha
    assert [m["current"] for m in out["models"]] == [True]
    assert stored(tmp_path) == ([sha], sha)


def test_promote_what_the_store_does_not_hold_is_refused_and_changes_nothing(tmp_path):
    training.registry_task(params(tmp_path, register=BUNDLED), Task())
    assert stored(tmp_path)[1] is None  # registered, not promoted: promotion is explicit
    with pytest.raises(MirroringError, match="0" * 12):
        training.registry_task(params(tmp_path, promote="0" * 64), Task())
    with pytest.raises(MirroringError, match="needs register"):
        training.registry_task(params(tmp_path, promote="registered"), Task())
    assert stored(tmp_path)[1] is None
