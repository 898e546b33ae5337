from __future__ import annotations

import hashlib
import json
import os
import pickle
import subprocess
import sys

import joblib
import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model, telemetry, trees
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ModelError, TrainingError

from common.utils import keypair, scenario_raw


@pytest.fixture(scope="module")
def data():
    return fleet.bootstrap_set(seed=5, n_vms=800, days=20, windows=40000)


@pytest.fixture(scope="module")
def keys(tmp_path_factory):
    return keypair(str(tmp_path_factory.mktemp("keys")))


@pytest.fixture(scope="module")
def trained(data, tmp_path_factory, keys):
    estimator, manifest = model.train(data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"])
    path = str(tmp_path_factory.mktemp("model") / "model.joblib")
    model.save(estimator, manifest, path)
    model.sign_manifest(path, keys[0])
    return path


def subset(data, n, seed=0):
    """n windows of the set, drawn at random and kept in the set's order: enough to train a valid model in a quarter
    of the time (the assertions that use it hold for any training set)."""
    idx = np.sort(np.random.default_rng(seed).choice(len(data["y"]), n, replace=False))
    return {k: (v[idx] if k != "summary" else v) for k, v in data.items()}


def load(path, keys):
    return model.FPSModel.load(path, trusted_keys=[keys[1]])


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


def test_holdout_is_the_latest_time(data, trained):
    # shuffle the input: the split must still be by time - the same training as the fixture's, unshuffled
    idx = np.random.default_rng(0).permutation(len(data["y"]))
    m1 = model.train(data["X"][idx], data["y"][idx], data["time_h"][idx], data["time_to_failure_h"][idx], data["summary"])[1]
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        m2 = json.load(f)
    assert m1["fingerprint"] == m2["fingerprint"]
    assert m1["metrics"]["holdout_positives"] == m2["metrics"]["holdout_positives"] > 0


def test_the_holdout_metrics_are_those_of_the_fps_the_inventory_gives(data, trained, keys):
    """The manifest's hold-out figures describe the score a run produces (FPSModel.score, the alarm lines' floor
    included), not the calibrated model alone: recomputed from the loaded model's FPS on the hold-out, they agree."""
    order = model.canonical_order(data["X"], data["y"], data["time_h"])
    held = order[int(len(order) * 0.75):]
    fps = load(trained, keys).score(data["X"][held])
    again = model.evaluate(data["y"][held], fps, data["time_to_failure_h"][held], 85.0)
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        metrics = json.load(f)["metrics"]
    floored = fps > np.round(100.0 * model.FPSModel.load(trained, trusted_keys=[keys[1]]).estimator.predict_proba(
        data["X"][held])[:, 1], 1)
    assert floored.any()  # the floor lifts some hold-out windows: the comparison below can tell the two apart
    for key in ("precision_at_failover", "recall_at_failover", "alerts_at_failover", "ece", "brier", "roc_auc"):
        assert metrics[key] == again[key], key


def test_scores_whole_fleet_in_one_call_and_gives_reasons(trained, data, keys):
    fps_model = load(trained, keys)
    fps = fps_model.score(data["X"][:500])
    assert fps.shape == (500,) and fps.min() >= 0 and fps.max() <= 100
    reasons = fps_model.reasons(data["X"][:500], fps)
    assert len(reasons) == 500
    for row in reasons:
        assert len(row) <= 3
        assert all(r["feature"] in telemetry.FEATURE_NAMES and r["contribution"] >= 0.5 for r in row)
        assert [r["contribution"] for r in row] == sorted((r["contribution"] for r in row), reverse=True)


def test_degrading_disk_scores_higher_and_names_disk_latency(trained, keys):
    fps_model = load(trained, keys)
    X = telemetry.features(scenario_raw([("healthy", 0.0, None, 1), ("degrading_disk", 0.8, None, 1)]))[0]
    fps = fps_model.score(X)
    assert fps[1] > fps[0] + 20
    reasons = fps_model.reasons(X, fps)[1]
    assert reasons[0]["feature"].startswith("disk_latency") or reasons[0]["feature"] == "vm_warning_events"
    assert any(r["feature"].startswith("disk_latency") for r in reasons)
    assert all(r["text"] for r in reasons)


def copy_model(trained, directory, manifest=None, blob=None, signature=True):
    path = os.path.join(str(directory), "model.joblib")
    with open(path, "wb") as f:
        f.write(blob if blob is not None else open(trained, "rb").read())
    with open(model.manifest_path(path), "w", encoding="utf-8") as f:
        f.write(manifest if manifest is not None else open(model.manifest_path(trained), encoding="utf-8").read())
    if signature:
        with open(model.signature_path(path), "w", encoding="utf-8") as f:
            f.write(open(model.signature_path(trained), encoding="utf-8").read())
    return path


def test_one_flipped_byte_is_refused_before_unpickling(trained, tmp_path, monkeypatch, keys):
    blob = bytearray(open(trained, "rb").read())
    blob[len(blob) // 2] ^= 0x01
    bad = copy_model(trained, tmp_path, blob=bytes(blob))
    calls = []
    monkeypatch.setattr(joblib, "load", lambda *a, **k: calls.append(a))
    with pytest.raises(ModelError, match="does not match its manifest"):
        load(bad, keys)
    assert not calls, "the file was unpickled"


class Payload:
    """A pickle that runs code when it is loaded: it writes a file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_malicious_pickle_with_a_matching_hash_never_runs(trained, tmp_path, keys):
    # the attack of issue 13: a payload, and the manifest's sha256 edited to match it
    marker = tmp_path / "payload-ran"
    blob = pickle.dumps(Payload(str(marker)))
    manifest = json.loads(open(model.manifest_path(trained), encoding="utf-8").read())
    manifest["sha256"] = hashlib.sha256(blob).hexdigest()
    path = copy_model(trained, tmp_path, manifest=json.dumps(manifest, indent=2, sort_keys=True), blob=blob)
    with pytest.raises(ModelError, match="origin is not proven: its signature by key .* does not match the manifest"):
        load(path, keys)
    assert not marker.exists(), "the payload ran"
    # the same without a signature file at all
    os.remove(model.signature_path(path))
    with pytest.raises(ModelError, match="origin is not proven: it has no signature"):
        load(path, keys)
    assert not marker.exists(), "the payload ran"


def test_another_valid_model_with_an_edited_hash_is_refused(trained, tmp_path, keys, data):
    # a model someone else trained (valid, but not ours), the manifest's hash edited to match
    other = tmp_path / "other"
    other.mkdir()
    part = subset(data, 10000)
    estimator, manifest = model.train(part["X"], part["y"], part["time_h"], part["time_to_failure_h"], part["summary"],
                                      seed=1)
    other_path = str(other / "model.joblib")
    model.save(estimator, manifest, other_path)
    ours = json.loads(open(model.manifest_path(trained), encoding="utf-8").read())
    ours["sha256"] = model.sha256_file(other_path)
    path = copy_model(trained, tmp_path, manifest=json.dumps(ours, indent=2, sort_keys=True),
                      blob=open(other_path, "rb").read())
    with pytest.raises(ModelError, match="does not match the manifest"):
        load(path, keys)


def test_a_key_that_is_not_trusted_is_named(trained, tmp_path, keys):
    stranger = keypair(str(tmp_path), "stranger")
    with pytest.raises(ModelError, match="not among the trusted keys"):
        model.FPSModel.load(trained, trusted_keys=[stranger[1]])
    with pytest.raises(ModelError, match="not among the trusted keys .none given"):
        model.FPSModel.load(trained)


def test_unsafe_opt_out_loads_and_says_so(trained, tmp_path, keys):
    path = copy_model(trained, tmp_path, signature=False)
    m = model.FPSModel.load(path, allow_unsigned=True)
    assert m.origin.startswith("origin not proven") and "UNSAFE" in m.origin


def test_a_signed_object_that_is_not_a_model_is_one_clear_line(trained, tmp_path, keys):
    path = str(tmp_path / "model.joblib")
    joblib.dump({"not": "a model"}, path)
    manifest = json.loads(open(model.manifest_path(trained), encoding="utf-8").read())
    manifest["sha256"] = model.sha256_file(path)
    with open(model.manifest_path(path), "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    model.sign_manifest(path, keys[0])
    with pytest.raises(ModelError, match="holds a dict, not a fitted FPS classifier"):
        load(path, keys)


def test_a_directory_is_named_as_one(tmp_path):
    with pytest.raises(ModelError, match="is a directory"):
        model.FPSModel.load(str(tmp_path))


def test_the_bundled_model_is_pinned():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    with open(os.path.join(root, "models", "default", "model.json"), "rb") as f:
        assert hashlib.sha256(f.read()).hexdigest() in model.BUNDLED_MANIFESTS


def test_missing_manifest_is_refused(trained, tmp_path):
    lone = tmp_path / "model.joblib"
    lone.write_bytes(open(trained, "rb").read())
    with pytest.raises(ModelError, match="manifest .* not found"):
        model.FPSModel.load(str(lone))


def test_other_sklearn_version_names_fps_train(trained, tmp_path, keys):
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        m = json.load(f)
    m["sklearn_version"] = "0.0.1"
    path = copy_model(trained, tmp_path, manifest=json.dumps(m))
    model.sign_manifest(path, keys[0])
    with pytest.raises(ModelError, match="fps_train"):
        load(path, keys)


@pytest.mark.parametrize("other", [{"features": list(model.LOG_GRID)[:-1]}, {"steps": model.LOG_GRID_STEPS * 2},
                                   {"steps": None}], ids=["features", "steps", "no-steps"])
def test_a_model_trained_on_another_feature_grid_is_refused(trained, tmp_path, keys, other):
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        m = json.load(f)
    assert m["log_grid"] == {"features": list(model.LOG_GRID), "steps": model.LOG_GRID_STEPS}
    m["log_grid"] = {k: v for k, v in dict(m["log_grid"], **other).items() if v is not None}
    path = copy_model(trained, tmp_path, manifest=json.dumps(m))
    model.sign_manifest(path, keys[0])
    with pytest.raises(ModelError, match="another feature grid.*fps_train"):
        load(path, keys)


def test_the_log_grid_keeps_a_rare_tail_apart_and_the_order_of_values():
    """Quantile bins would put the rarest 0.2 % of a feature in one bin; on the grid 3x and 30x stay apart, the
    grid never reorders two values, and it has fewer distinct values than HistGradientBoosting has bins."""
    rng = np.random.default_rng(0)
    X = np.ones((100000, len(telemetry.FEATURE_NAMES)))
    j = telemetry.FEATURE_NAMES.index("disk_latency_ratio")
    X[:, j] = np.sort(np.concatenate([rng.lognormal(0, 0.2, 99800), rng.uniform(3, 30, 200)]))
    g = model.model_input(X)[:, j]
    assert np.all(np.diff(g) >= 0)
    assert len(np.unique(g[-200:])) >= 20 and len(np.unique(g)) < 255
    assert model.model_input(X)[:, 0].tolist() == X[:, 0].tolist()  # CPU usage is not on the grid
    dev = telemetry.FEATURE_NAMES.index("disk_latency_dev")
    X[:3, dev] = [-40.0, 0.0, 40.0]
    g = model.model_input(X[:3])[:, dev]
    assert g[1] == 0.0 and g[0] == -g[2] and abs(g[2] - 40.0) / 40.0 < 0.05


def test_too_few_failures_is_refused(data):
    y = np.zeros_like(data["y"])
    y[:5] = 1
    with pytest.raises(TrainingError, match="Only 5 failure windows"):
        model.train(data["X"], y, data["time_h"], data["time_to_failure_h"], data["summary"])


def test_bad_feature_matrix_is_refused(trained, keys):
    fps_model = load(trained, keys)
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
    evaluation = m.manifest["evaluation"]
    assert set(evaluation) >= {"holdout", "steady_busy"}
    assert evaluation["steady_busy"]["with_baseline"]["vms_ever_failover"] == 0


def default_model():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    return model.FPSModel.load(os.path.join(root, "models", "default", "model.joblib"))


@pytest.mark.parametrize("normal", [{"disk": 3.0}, {"disk": 12.0}, {"disk": 12.0, "balloon": 100.0},
                                    {"disk": 15.0, "balloon": 500.0}, {"disk": 15.0, "balloon": 1024.0},
                                    {"disk": 18.0, "balloon": 3072.0, "ready": 4.5, "cpu": 90.0, "mem": 85.0}])
def test_default_model_keeps_busy_but_normal_vms_minimal_with_or_without_history(normal):
    m = default_model()
    for with_baseline in (True, False):
        X = telemetry.features(scenario_raw([("healthy", 0.0, normal, 2)], with_baseline=with_baseline))[0]
        assert m.score(X)[0] <= 30, (normal, with_baseline)


def test_default_model_sees_a_departure_from_the_vms_own_normal():
    m = default_model()
    busy = {"disk": 15.0, "balloon": 1024.0}
    raw = scenario_raw([("healthy", 0.0, busy, 3), ("memory_leak", 0.6, busy, 3), ("degrading_disk", 0.8, busy, 3)])
    X = telemetry.features(raw)[0]
    fps = m.score(X)
    assert fps[0] <= 30 and fps[1] > 70 and fps[2] > 30, fps
    reasons = m.reasons(X, fps)
    assert any("this VM's normal" in r["text"] for r in reasons[1]), reasons[1]


def test_a_saved_model_scores_on_its_trees_exactly_as_scikit_learn_does(trained, keys, data):
    """fps_train writes the trees beside the joblib file, their digest in the signed manifest; scores and reasons from
    them are scikit-learn's, bit for bit, on the training windows and on rows on both sides of every split."""
    with open(model.manifest_path(trained), encoding="utf-8") as f:
        assert json.load(f)["trees_sha256"] == model.sha256_file(model.trees_path(trained))
    fps_model = load(trained, keys)
    assert fps_model.trees is not None and fps_model._estimator is None  # pylint: disable=protected-access
    estimator = joblib.load(trained)
    X = np.asarray(data["X"][:3000], dtype=float)
    assert np.array_equal(fps_model.trees.predict_proba(model.model_input(X)),
                          estimator.predict_proba(model.model_input(X)))
    fps = fps_model.score(X)
    probe = trees.probe_rows(trees.arrays(estimator), model.model_input(fps_model.baseline[None, :])[0], count=3000)
    assert np.array_equal(fps_model.trees.predict_proba(probe), estimator.predict_proba(probe))
    # the same rows past TREES_MAX_ROWS go through scikit-learn: the same scores and reasons
    reasons = fps_model.reasons(X[:200])
    whole = model.FPSModel.load(trained, trusted_keys=[keys[1]])
    whole.trees = None
    assert np.array_equal(whole.score(X), fps)
    assert whole.reasons(X[:200]) == reasons


def test_the_bundled_model_scores_without_importing_scikit_learn_or_scipy():
    """The inventory's and modules' start: loading the shipped model and scoring a VM imports neither."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
    code = ("import sys, numpy as np\n"
            "from ansible_collections.predictive.mirroring.plugins.module_utils import model\n"
            "m = model.FPSModel.load(%r)\n"
            "X = np.repeat(m.baseline[None, :], 5, axis=0)\n"
            "print(m.score(X).tolist(), len(m.reasons(X)), m.origin)\n"
            "print(sorted(n for n in ('sklearn', 'scipy', 'joblib') if n in sys.modules))\n"
            % os.path.join(root, "models", "default", "model.joblib"))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.splitlines()
    assert out[0].startswith("[") and "bundled" in out[0]
    assert out[1] == "[]"
    m = default_model()
    X = np.repeat(m.baseline[None, :], 5, axis=0)
    m.trees = None
    assert out[0].split("]")[0] + "]" == str(m.score(X).tolist())


def test_trees_that_do_not_match_the_manifest_are_refused_and_missing_ones_fall_back(trained, tmp_path, keys):
    path = copy_model(trained, tmp_path)
    blob = bytearray(open(model.trees_path(trained), "rb").read())
    blob[-3] ^= 0x01
    with open(model.trees_path(path), "wb") as f:
        f.write(bytes(blob))
    with pytest.raises(ModelError, match=r"trees .*model.trees do not match their manifest"):
        load(path, keys)
    os.remove(model.trees_path(path))
    fallback = load(path, keys)
    assert fallback.trees is None and fallback._estimator is not None  # pylint: disable=protected-access
    X = np.repeat(fallback.baseline[None, :], 3, axis=0)
    assert np.array_equal(fallback.score(X), load(trained, keys).score(X))


def test_an_estimator_trees_py_cannot_read_is_saved_without_trees(trained, tmp_path, keys):
    """Another estimator (here a bare, uncalibrated one) keeps the scikit-learn path: no trees file, no digest."""
    estimator = joblib.load(trained).calibrated_classifiers_[0].estimator
    assert trees.arrays(estimator) is None
    manifest = json.loads(open(model.manifest_path(trained), encoding="utf-8").read())
    path = str(tmp_path / "model.joblib")
    with open(model.trees_path(path), "w", encoding="utf-8") as f:
        f.write("left over from the model being replaced")
    saved = model.save(estimator, manifest, path)
    assert "trees_sha256" not in saved and not os.path.exists(model.trees_path(path))
