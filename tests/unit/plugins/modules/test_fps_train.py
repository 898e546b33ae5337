from __future__ import annotations

import os

from ansible_collections.predictive.mirroring.plugins.modules import fps_train
from ansible_collections.predictive.mirroring.plugins.module_utils import history, model, telemetry

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ModelError

from common.utils import keypair, run_module

SMALL = {"seed": 5, "vms": 300, "days": 12, "windows": 8000}


def test_bootstrap_training_writes_model_and_is_idempotent(tmp_path):
    path = str(tmp_path / "m" / "model.joblib")
    args = {"model_path": path, "source": "bootstrap", "bootstrap": SMALL}
    result, failed = run_module(fps_train, args, check_mode=True)
    assert not failed and result["changed"] and not os.path.exists(path)
    result, failed = run_module(fps_train, args)
    assert not failed and result["changed"]
    assert result["sha256"] == model.sha256_file(path)
    assert 0.5 < result["metrics"]["roc_auc"] <= 1
    assert not result["signed"]
    with pytest.raises(ModelError, match="origin is not proven: it has no signature"):
        model.FPSModel.load(path)  # an unsigned model is refused
    stamp = os.stat(path).st_mtime_ns
    private, public = keypair(str(tmp_path))
    result, failed = run_module(fps_train, dict(args, signing_key=private))
    assert not failed and result["changed"] and result["signed"]  # the same model, now signed: not retrained
    assert os.stat(path).st_mtime_ns == stamp
    result, failed = run_module(fps_train, dict(args, signing_key=private))
    assert not failed and not result["changed"]
    assert os.stat(path).st_mtime_ns == stamp
    assert model.FPSModel.load(path, trusted_keys=[public]).origin.startswith("signed by trusted key")
    # into the store's registry: the model already trained on this data is registered, not trained again; then an
    # AWX job without a model_path finds this data's model in the registry and changes nothing
    store = {"history_path": str(tmp_path / "store.sqlite"), "register": True, "source": "bootstrap",
             "bootstrap": SMALL, "signing_key": private}
    result, failed = run_module(fps_train, dict(store, model_path=path))
    assert not failed and result["changed"] and result["registered"] and result["signed"]
    assert os.stat(path).st_mtime_ns == stamp
    with history.History(store["history_path"]) as h:
        [entry] = h.models()
        assert entry["sha256"] == result["sha256"] and entry["signed"] and not entry["current"]  # not promoted
        loaded = model.FPSModel.load_from_store(h, result["sha256"], trusted_keys=[public])
        assert loaded.path == "store:" + result["sha256"] and loaded.origin.startswith("signed by trusted key")
        assert loaded.trees is not None and h.model_trees(result["sha256"]) == open(model.trees_path(path), "rb").read()
    result, failed = run_module(fps_train, store)  # no model_path
    assert not failed and not result["changed"] and result["registered"] is False
    result, failed = run_module(fps_train, {"source": "bootstrap", "bootstrap": SMALL})
    assert failed and "model_path is required unless register is true" in result["msg"]


def test_history_with_too_few_failures_is_refused_and_writes_nothing(tmp_path):
    store = str(tmp_path / "h.sqlite")
    with history.History(store) as h:
        h.add_windows([{"vcenter": "vc", "vm": "vm-%d" % i, "window_end": "2026-11-%02dT00:00:00+00:00" % (1 + i % 28),
                        "features": [1.0] * len(telemetry.FEATURE_NAMES), "label": int(i < 3)} for i in range(200)],
                      telemetry.FEATURE_NAMES)
    path = str(tmp_path / "model.joblib")
    result, failed = run_module(fps_train, {"model_path": path, "history_path": store})
    assert failed and "Only 3 failure windows" in result["msg"]
    assert not os.path.exists(path)


def test_missing_history_store_is_a_clear_error(tmp_path):
    result, failed = run_module(fps_train, {"model_path": str(tmp_path / "m.joblib"), "history_path": str(tmp_path / "none")})
    assert failed and "fps_history" in result["msg"]
