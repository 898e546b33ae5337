"""Build the default model (models/default) from the bootstrap set, reproducibly, with its evaluation.

Same seed, same scikit-learn: the same model.joblib, byte for byte (the
manifest's build time is pinned with SOURCE_DATE_EPOCH). The manifest
carries the evaluation of benchmarks/fps_quality.py: (a) the time-ordered
hold-out and (d) the steady-busy fleet always; (b) and (c), on the real
traces in ../shared/realdata (or PM_REALDATA), when they are there - else
they are carried over from the manifest being replaced when it describes
the same training (same fingerprint), and left out otherwise.
Run through scripts/bootstrap.sh's venv:  .venv/bin/python scripts/build_model.py
"""
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path[:0] = [ROOT, os.path.join(ROOT, "benchmarks")]  # ansible_collections/predictive/mirroring links to the root

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model  # noqa: E402  pylint: disable=wrong-import-position
import fps_quality  # noqa: E402  pylint: disable=wrong-import-position

REAL = ("real_healthy", "real_injected", "realdata_sha256")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "default", "model.joblib")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795824000")  # 2026-11-28T00:00:00Z
    data = fleet.bootstrap_set()
    estimator, manifest = model.train(data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"])
    realdata = os.environ.get("PM_REALDATA") or fps_quality.DEFAULT_REALDATA
    evaluation = fps_quality.evaluate(model.FPSModel(estimator, manifest), realdata if os.path.isdir(realdata) else None)
    if "real_healthy" not in evaluation and os.path.exists(model.manifest_path(out)):
        with open(model.manifest_path(out), encoding="utf-8") as f:
            previous = json.load(f)
        if previous.get("fingerprint") == manifest["fingerprint"]:
            evaluation.update({k: v for k, v in (previous.get("evaluation") or {}).items() if k in REAL})
            print("real-data figures carried over from the manifest being replaced (same training); %s is not here"
                  % realdata)
        else:
            print("WARNING: %s is not here and the training changed: the manifest has no real-data figures" % realdata)
    manifest["evaluation"] = evaluation
    manifest = model.save(estimator, manifest, out)
    m = manifest["metrics"]
    print(json.dumps({k: m[k] for k in ("roc_auc", "pr_auc", "brier", "ece", "precision_at_failover",
                                        "recall_at_failover", "median_lead_time_hours", "holdout_positives")}))
    print(json.dumps({k: v for k, v in evaluation.items() if k != "holdout"}, sort_keys=True))
    print("wrote %s (sha256 %s)" % (out, manifest["sha256"]))
    # the bundled model is trusted by its manifest's digest, pinned in model.BUNDLED_MANIFESTS (a joblib file is code:
    # only a manifest the collection's own code names, or one signed by a trusted key, is ever unpickled)
    with open(model.manifest_path(out), "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    pinned = digest in model.BUNDLED_MANIFESTS
    where = ("pinned in model.BUNDLED_MANIFESTS" if pinned
             else "NOT pinned - put it in plugins/module_utils/model.py BUNDLED_MANIFESTS to ship it")
    print("manifest sha256 %s: %s" % (digest, where))


if __name__ == "__main__":
    main()
