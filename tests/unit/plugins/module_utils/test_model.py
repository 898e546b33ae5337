from __future__ import annotations

import json
import os

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ModelError, TrainingError


@pytest.fixture(scope="module")
def data():
    return fleet.bootstrap_set(seed=5, n_vms=800, days=20, windows=40000)


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory):
    estimator, manifest = model.train(data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"])
    path = str(tmp_path_factory.mktemp("model") / "model.joblib")
    model.save(estimator, manifest, path)
    return path


def test_manifest_holds_metrics_that_are_present_and_sane(trained):
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        m = json.load(f)
    metrics = m["metrics"]
    assert m["sha256"] == model.sha256_file(trained)
    assert m["feature_names"] == list(telemetry.FEATURE_NAMES)
    assert 0.7 < metrics["roc_auc"] <= 1.0
    assert metrics["pr_auc"] > metrics["base_rate"]  # better than chance
    assert 0.0 <= metrics["brier"] < metrics["base_rate"]
    assert metrics["ece"] <= 0.05
    for key in ("precision_at_failover", "recall_at_failover", "median_lead_time_hours", "reliability"):
        assert key in metrics
    assert m["training"]["holdout_windows"] + m["training"]["train_windows"] == m["training"]["windows"]


def test_holdout_is_the_latest_time(data):
    # shuffle the input: the split must still be by time
    rng = np.random.default_rng(0)
    idx = rng.permutation(len(data["y"]))
    m1 = model.train(data["X"][idx], data["y"][idx], data["time_h"][idx], data["time_to_failure_h"][idx], data["summary"])[1]
    m2 = model.train(data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"])[1]
    assert m1["fingerprint"] == m2["fingerprint"]
    assert m1["metrics"]["holdout_positives"] == m2["metrics"]["holdout_positives"]


def test_scores_whole_fleet_in_one_call_and_gives_reasons(trained, data):
    fps_model = model.FPSModel.load(trained)
    fps = fps_model.score(data["X"][:500])
    assert fps.shape == (500,) and fps.min() >= 0 and fps.max() <= 100
    reasons = fps_model.reasons(data["X"][:500], fps)
    assert len(reasons) == 500
    for row in reasons:
        assert len(row) <= 3
        assert all(r["feature"] in telemetry.FEATURE_NAMES and r["contribution"] >= 0.5 for r in row)
        assert [r["contribution"] for r in row] == sorted((r["contribution"] for r in row), reverse=True)


def test_degrading_disk_scores_higher_and_names_disk_latency(trained):
    fps_model = model.FPSModel.load(trained)
    rows = []
    for scenario, sev in (("healthy", 0.0), ("degrading_disk", 0.8)):
        s = fleet.scenario_series(scenario, sev, seed=1)
        raw = {"interval": 20, "samples": {c: np.array([s[c]], dtype=float) for c in telemetry.COUNTERS},
               "num_cpu": [2], "uptime_seconds": [86400.0 * 20], "host_connected": [1.0], "host_health": [0.0], "events": {}}
        rows.append(telemetry.features(raw)[0][0])
    X = np.array(rows)
    fps = fps_model.score(X)
    assert fps[1] > fps[0] + 20
    assert fps_model.reasons(X, fps)[1][0]["feature"].startswith("disk_latency")


def test_one_flipped_byte_is_refused_before_unpickling(trained, tmp_path, monkeypatch):
    bad = tmp_path / "model.joblib"
    blob = bytearray(open(trained, "rb").read())
    blob[len(blob) // 2] ^= 0x01
    bad.write_bytes(bytes(blob))
    (tmp_path / "model.json").write_text(open(model.manifest_path(trained), encoding="utf-8").read())
    calls = []
    monkeypatch.setattr(model.joblib, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(ModelError, match="does not match its manifest"):
        model.FPSModel.load(str(bad))
    assert not calls, "the file was unpickled"


def test_missing_manifest_is_refused(trained, tmp_path):
    lone = tmp_path / "model.joblib"
    lone.write_bytes(open(trained, "rb").read())
    with pytest.raises(ModelError, match="manifest .* not found"):
        model.FPSModel.load(str(lone))


def test_other_sklearn_version_names_fps_train(trained, tmp_path):
    path = tmp_path / "model.joblib"
    path.write_bytes(open(trained, "rb").read())
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        m = json.load(f)
    m["sklearn_version"] = "0.0.1"
    (tmp_path / "model.json").write_text(json.dumps(m))
    with pytest.raises(ModelError, match="fps_train"):
        model.FPSModel.load(str(path))


def test_too_few_failures_is_refused(data):
    y = np.zeros_like(data["y"])
    y[:5] = 1
    with pytest.raises(TrainingError, match="Only 5 failure windows"):
        model.train(data["X"], y, data["time_h"], data["time_to_failure_h"], data["summary"])


def test_bad_feature_matrix_is_refused(trained):
    fps_model = model.FPSModel.load(trained)
    with pytest.raises(ModelError, match="shape"):
        fps_model.score(np.zeros((2, 3)))
    X = np.zeros((1, len(telemetry.FEATURE_NAMES)))
    X[0, 0] = np.nan
    with pytest.raises(ModelError, match="NaN"):
        fps_model.score(X)


def test_default_model_ships_and_verifies():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    m = model.FPSModel.load(os.path.join(root, "models", "default", "model.joblib"))
    assert m.manifest["metrics"]["ece"] <= 0.05
    assert m.manifest["training"]["source"].startswith("bootstrap")
