"""Build the default model (models/default) from the bootstrap set, reproducibly.

Same seed, same scikit-learn: the same model.joblib, byte for byte (the
manifest's build time is pinned with SOURCE_DATE_EPOCH). Run through
scripts/bootstrap.sh's venv:  .venv/bin/python scripts/build_model.py
"""
import hashlib
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # ansible_collections/predictive/mirroring links to the root

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model  # noqa: E402  pylint: disable=wrong-import-position


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "models", "default", "model.joblib")
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1795651200")  # 2026-11-26T00:00:00Z
    data = fleet.bootstrap_set()
    estimator, manifest = model.train(data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"])
    manifest = model.save(estimator, manifest, out)
    m = manifest["metrics"]
    print(json.dumps({k: m[k] for k in ("roc_auc", "pr_auc", "brier", "ece", "precision_at_failover",
                                        "recall_at_failover", "median_lead_time_hours", "holdout_positives")}))
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
