# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Training and the model registry: the cores of fps_train and fps_model.

- `training_data(params)`: the labelled windows, from the history store or the bootstrap fleet (fleet.py).
- `train_task(params, task)`: train unless this data's model already exists (by fingerprint, in the file or the
  registry), write, sign, register. Nothing is unpickled to tell whether it exists: the manifest and the file's hash.
- `registry_task(params, task)`: register a model file in the store and promote one; a model is loaded (its origin
  proven) before it is registered or promoted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError, TrainingError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import open_store, store_configured

try:
    import numpy as np
except ImportError:
    np = None  # model.train reports the missing library


def training_data(p):
    """(X, y, time_h, time_to_failure_h, summary) from the chosen source."""
    if p["source"] == "bootstrap":
        b = p["bootstrap"]
        data = fleet.bootstrap_set(seed=b["seed"], n_vms=b["vms"], days=b["days"], windows=b["windows"],
                                   horizon_hours=b["horizon_hours"])
        return data["X"], data["y"], data["time_h"], data["time_to_failure_h"], data["summary"]
    if not store_configured(p):
        raise TrainingError("History store %s does not exist: harvest it first with predictive.mirroring.fps_history"
                            % p["history_path"])
    with open_store(p) as h:
        X, y, t, ttf = h.windows(telemetry.FEATURE_NAMES)
        where = h.where  # a DSN's host, port, database and user: never its password
    if not X:
        raise TrainingError("History store %s holds no windows for this feature set" % where)
    return X, y, t, ttf, {"source": "history", "path": where, "horizon_hours": None}


def existing_model(model_path):
    """The manifest of the model already at model_path when its file matches it, else None (nothing unpickled)."""
    if not (os.path.exists(model_path) and os.path.exists(model.manifest_path(model_path))):
        return None
    try:
        existing = model.read_manifest(model_path)
    except MirroringError:
        return None  # unusable: replace it
    return existing if model.sha256_file(model_path) == existing["sha256"] else None  # damaged: replace it


def train_task(p, task):
    """The fps_train module."""
    if not p["model_path"] and not p["register"]:
        raise TrainingError("model_path is required unless register is true")
    if np is None:
        raise TrainingError("numpy is required on the controller: pip install -r requirements.txt")
    work = None
    try:
        if not p["model_path"]:
            work = tempfile.mkdtemp(prefix="pm-train-")
            p = dict(p, model_path=os.path.join(work, "model.joblib"))
        return _train(p, task)
    finally:
        if work:
            shutil.rmtree(work, ignore_errors=True)


def _train(p, task):
    X, y, t, ttf, summary = training_data(p)
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    fp = model.training_fingerprint(X, y, t, p["holdout"], p["failover_threshold"])
    existing = existing_model(p["model_path"])
    summary = dict(summary, windows=int(len(y)), positives=int(y.sum()))
    if existing is None and p["register"] and not p["force"] and store_configured(p):
        with open_store(p) as store:
            sha = store.model_with_fingerprint(fp)
            if sha:  # trained on this data already and kept in the registry
                _artefact, manifest, signature = store.model_files(sha)
                manifest = json.loads(manifest)
                return dict(changed=False, metrics=manifest["metrics"], training=manifest["training"], sha256=sha,
                            fingerprint=fp, signed=signature is not None, registered=False)
    if existing is not None and existing.get("fingerprint") == fp and not p["force"]:
        signed = False
        if p["signing_key"] and not task.check_mode and not model.signed_with(p["model_path"], p["signing_key"]):
            model.sign_manifest(p["model_path"], p["signing_key"])
            signed = True
        registered = False
        if p["register"] and not task.check_mode:
            with open_store(p) as store:
                registered = model.register(store, p["model_path"])
        return dict(changed=signed or registered, metrics=existing["metrics"], training=existing["training"],
                    sha256=existing["sha256"], fingerprint=fp, registered=registered,
                    signed=model.signed_with(p["model_path"], p["signing_key"]))
    if task.check_mode:
        return dict(changed=True, training=summary, fingerprint=fp,
                    msg="would train on %d windows (%d failures)" % (len(y), int(y.sum())))
    estimator, manifest = model.train(X, y, t, ttf, summary, failover_threshold=p["failover_threshold"],
                                      holdout=p["holdout"], min_positives=p["min_positives"])
    manifest = model.save(estimator, manifest, p["model_path"])
    task.changed = True
    if p["signing_key"]:
        model.sign_manifest(p["model_path"], p["signing_key"])
    else:
        task.warn("The model at %s is not signed (no signing_key): the inventory and fps_info refuse it until it is "
                  "signed by a key in their trusted_keys" % ("the store" if p["register"] else p["model_path"]))
    registered = None
    if p["register"]:
        with open_store(p) as store:
            registered = model.register(store, p["model_path"])
    return dict(changed=True, metrics=manifest["metrics"], training=manifest["training"], sha256=manifest["sha256"],
                fingerprint=manifest["fingerprint"], signed=bool(p["signing_key"]), registered=registered)


def registry_task(p, task):
    """The fps_model module."""
    out = {}
    promote = p["promote"]
    loaded = None
    with open_store(p) as store:
        previous = current = store.current_model_sha()
        registered = False
        if p["register"]:
            loaded = model.FPSModel.load(p["register"], p["trusted_keys"], p["allow_unsigned_model"])
            out["origin"] = loaded.origin
            if not task.check_mode:
                registered = model.register(store, p["register"])
            else:
                registered = not any(m["sha256"] == loaded.manifest["sha256"] for m in store.models())
            out["registered"] = registered
        if promote == "registered":
            if loaded is None:
                raise MirroringError("promote=registered needs register (the model file to register)")
            promote = loaded.manifest["sha256"]
        if promote and not (task.check_mode and registered):
            sha = store.find_model(promote)
            out["origin"] = model.FPSModel.load_from_store(store, sha, p["trusted_keys"], p["allow_unsigned_model"]).origin
            if sha != previous:
                if not task.check_mode:
                    store.promote_model(sha, p["why"])
                current = sha
        out.update(previous=previous, current=current, models=store.models())
    if task.check_mode:
        if out.get("registered") and promote and len(promote) == 64:  # would register, then promote it
            current = out["current"] = promote
        for m in out["models"]:
            m["current"] = m["sha256"] == current
    return dict(out, changed=current != previous or bool(out.get("registered")),
                diff={"before": {"current": previous}, "after": {"current": current}})
