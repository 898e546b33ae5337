# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FPS model: a calibrated scikit-learn classifier saved with joblib beside a JSON manifest.

A joblib file is a pickle: loading it runs code. So no byte of it is
unpickled before its origin is proven:

1. the manifest (model.json) is trusted - either it is the manifest of a
   model that ships with this collection (its sha256 is pinned below, in
   code: whoever can change this file can change any code anyway), or it
   carries an Ed25519 signature (model.sig) by a key the operator trusts
   (trusted_keys; fps_train signs with the operator's private key);
2. the model file's sha256 matches the trusted manifest;
3. the scikit-learn version is the one that built it.

Beside the joblib file, fps_train writes the model's trees as plain NumPy
arrays (model.trees, see trees.py), checked at save to give exactly the
estimator's probabilities; the manifest carries their sha256 too. A run
scores with them and imports neither scikit-learn nor SciPy (about a second
of CPU at every inventory and module start); only a batch of
TREES_MAX_ROWS rows or more (a fleet of about five hundred VMs and their
reasons) unpickles the estimator, whose threaded code is faster there. A
model without the trees file (an older one, or one registered in the store
without them) is unpickled at load, as before.

A hash alone proves integrity, not origin: anyone who can write the model
can write a matching hash. The unsafe opt-out (allow_unsigned) exists for a
lab and says so.

FPS = 100 x calibrated probability that the VM fails within the model's
horizon. Reasons are occlusion contributions: how many FPS points the VM
would lose if that one feature were at its healthy baseline (the median of
the training windows that did not fail).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import importlib.util
import json
import os
import tempfile
import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import DEFAULT_FAILOVER_THRESHOLD
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ModelError, TrainingError, require
from ansible_collections.predictive.mirroring.plugins.module_utils import history, telemetry, trees

from ansible_collections.predictive.mirroring.plugins.module_utils.numeric import np, require_numpy

# scikit-learn and joblib are imported where a model is loaded, scored or trained, not here: importing them takes
# about a second, paid by every module that only shares this file's manifest and store helpers (failover steps).
# batches of at least this many rows are scored on scikit-learn's OpenMP threads, smaller ones on one (FPSModel.score)
SCORE_THREADED_ROWS = 50000
# Below this many rows a score runs on the model's trees in NumPy (about 45 us a row on this 2-core machine); from it
# on, scikit-learn's threaded code (about 7 us a row) repays the second its import costs.
TREES_MAX_ROWS = 16384
HAS_SKLEARN = all(importlib.util.find_spec(name) is not None for name in ("sklearn", "joblib"))
SKLEARN_IMPORT_ERROR = None if HAS_SKLEARN else "No module named 'sklearn' or 'joblib'"


try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()


# sha256 of the manifests of the models this collection ships (models/default/model.json). scripts/build_model.py
# prints the digest of a rebuilt model; tests/unit checks that the shipped manifest matches it.
BUNDLED_MANIFESTS = frozenset((
    "fa4b35cbcf725a701e4763093ea1b558cce5f81e7e924fbe55d97628f01b4ee7",  # models/default (model.joblib and model.trees)
))
MANIFEST_FORMAT = 1
MIN_POSITIVES = 50
MIN_HOLDOUT_POSITIVES = 10
ESTIMATOR_PARAMS = {"max_iter": 600, "learning_rate": 0.04, "max_leaf_nodes": 15, "min_samples_leaf": 20,
                    "l2_regularization": 1.0}
# More latency, errors, pressure or drops never lowers the risk: the model is
# constrained to agree, which keeps its reasons pointing the right way.
# CPU usage (a batch peak is no symptom), memory level, uptime, gaps and the
# age of the baseline are left free. Not CPU usage against the VM's normal:
# a leaking VM's CPU climbs with its swapping, and left free that rise lowered
# the score at the top of a memory-leak ladder (97.0 to 95.7 on the simulator).
UNCONSTRAINED = ("cpu_usage_pct_mean", "cpu_usage_pct_p95", "mem_usage_pct_mean", "uptime_days", "missing_counters",
                 "baseline_days")


def monotonic_constraints():
    return [0 if name in UNCONSTRAINED else 1 for name in telemetry.FEATURE_NAMES]


# HistGradientBoosting cuts each feature at its quantiles (255 bins at most): the rare values a failure shows - the
# top 0.2 % of disk latency ratios, swap-in past 1 MB/s - all share its last bin, so the model cannot tell three times
# a VM's normal from thirty, and its score goes flat where the symptom goes on rising. These heavy-tailed features
# reach the estimator on a fixed logarithmic grid instead (LOG_GRID_STEPS per doubling of 1 + |value|, about 9 %):
# fewer distinct values than bins, so each step keeps a bin of its own however rare it is. The grid is monotone, so
# the monotonic constraints hold; reasons and reports show the exact values.
LOG_GRID = ("cpu_ready_pct_mean", "mem_balloon_mb_mean", "mem_swapin_kbps_mean", "disk_latency_ms_mean",
            "disk_latency_ms_p95", "net_dropped_per_interval_mean", "cpu_ready_dev", "mem_usage_dev", "mem_balloon_dev",
            "mem_swapin_dev", "disk_latency_dev", "net_dropped_dev", "host_peers_disk_latency_dev",
            "host_peers_cpu_ready_dev", "disk_latency_ratio")
LOG_GRID_STEPS = 8
_LOG_GRID_COLUMNS = [telemetry.FEATURE_NAMES.index(name) for name in LOG_GRID]


def log_grid():
    """The grid as a manifest records it: a model trained on other features or steps is refused at load."""
    return {"features": list(LOG_GRID), "steps": LOG_GRID_STEPS}


def model_input(X):
    """The feature matrix as the estimator sees it, in training and in scoring: LOG_GRID's columns on their grid."""
    X = np.array(X, dtype=float)
    v = X[:, _LOG_GRID_COLUMNS]
    X[:, _LOG_GRID_COLUMNS] = np.sign(v) * (np.exp2(np.round(np.log2(1.0 + np.abs(v)) * LOG_GRID_STEPS) / LOG_GRID_STEPS) - 1.0)
    return X


STORE_PREFIX = "store:"


def is_store_ref(ref):
    """Whether a model reference names the store's registry (store:latest, store:newest, store:<sha256>)."""
    return isinstance(ref, str) and ref.startswith(STORE_PREFIX)


def manifest_path(model_path):
    return os.path.splitext(model_path)[0] + ".json"


def signature_path(model_path):
    return os.path.splitext(model_path)[0] + ".sig"


def trees_path(model_path):
    return os.path.splitext(model_path)[0] + ".trees"


def key_id(public_key):
    """A public key's fingerprint: the first 16 hex digits of the sha256 of its raw bytes."""
    raw = public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def load_public_keys(paths):
    """{key id: Ed25519 public key} from PEM files (or directories of *.pub / *.pem files)."""
    require("cryptography", HAS_CRYPTOGRAPHY, CRYPTOGRAPHY_IMPORT_ERROR)
    files = []
    for path in paths or []:
        path = os.path.expanduser(path)
        if os.path.isdir(path):
            files += [os.path.join(path, f) for f in sorted(os.listdir(path)) if f.endswith((".pub", ".pem"))]
        else:
            files.append(path)
    keys = {}
    for path in files:
        try:
            with open(path, "rb") as f:
                key = serialization.load_pem_public_key(f.read())
        except (OSError, ValueError) as e:
            raise ModelError("Trusted key %s cannot be read as a PEM public key: %s" % (path, e)) from None
        if not isinstance(key, Ed25519PublicKey):
            raise ModelError("Trusted key %s is not an Ed25519 public key" % path)
        keys[key_id(key)] = key
    return keys


def sign_manifest(model_path, private_key_path):
    """Sign the model's manifest (its exact bytes) with an Ed25519 private key (PEM); writes model.sig."""
    require("cryptography", HAS_CRYPTOGRAPHY, CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        with open(os.path.expanduser(private_key_path), "rb") as f:
            key = serialization.load_pem_private_key(f.read(), password=None)
    except (OSError, ValueError, TypeError) as e:
        raise ModelError("Signing key %s cannot be read as an unencrypted PEM private key: %s" % (private_key_path, e)) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ModelError("Signing key %s is not an Ed25519 private key (openssl genpkey -algorithm ed25519)" % private_key_path)
    with open(manifest_path(model_path), "rb") as f:
        blob = f.read()
    sig = {"key_id": key_id(key.public_key()), "algorithm": "ed25519",
           "signature": base64.b64encode(key.sign(blob)).decode()}
    tmp = signature_path(model_path) + ".tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        json.dump(sig, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, signature_path(model_path))
    return sig


def signed_with(model_path, private_key_path):
    """Whether model_path's manifest carries a valid signature by this private key's public half."""
    if not private_key_path or not os.path.exists(signature_path(model_path)):
        return False
    require("cryptography", HAS_CRYPTOGRAPHY, CRYPTOGRAPHY_IMPORT_ERROR)
    try:
        with open(os.path.expanduser(private_key_path), "rb") as f:
            public = serialization.load_pem_private_key(f.read(), password=None).public_key()
        with open(signature_path(model_path), encoding="utf-8") as f:
            sig = json.load(f)
        with open(manifest_path(model_path), "rb") as f:
            public.verify(base64.b64decode(sig["signature"], validate=True), f.read())
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error, InvalidSignature):
        return False
    return True


def verify_origin(model_path, trusted_keys=None, allow_unsigned=False):
    """How the manifest's origin is proven ("bundled", "signed by <key id>" or "unsigned, allowed"); ModelError if it is not."""
    with open(manifest_path(model_path), "rb") as f:
        blob = f.read()
    if hashlib.sha256(blob).hexdigest() in BUNDLED_MANIFESTS:
        return "bundled with predictive.mirroring"
    why = "it has no signature (%s)" % signature_path(model_path)
    if os.path.exists(signature_path(model_path)):
        try:
            with open(signature_path(model_path), encoding="utf-8") as f:
                sig = json.load(f)
            signature = base64.b64decode(sig["signature"], validate=True)
            kid = sig["key_id"]
        except (OSError, ValueError, KeyError, TypeError, binascii.Error) as e:
            raise ModelError("Model signature %s is unreadable: %s" % (signature_path(model_path), e)) from None
        keys = load_public_keys(trusted_keys)
        key = keys.get(kid)
        if key is None:
            why = "it is signed by key %s, which is not among the trusted keys (%s)" % (
                kid, ", ".join(sorted(keys)) or "none given")
        else:
            try:
                key.verify(signature, blob)
                return "signed by trusted key %s" % kid
            except InvalidSignature:
                why = "its signature by key %s does not match the manifest (tampered with after signing)" % kid
    if allow_unsigned:
        return "origin not proven (%s); loaded because allow_unsigned_model is set - UNSAFE" % why
    raise ModelError("Model %s is refused before it is unpickled: its origin is not proven: %s. A model file is code. "
                     "Sign it with fps_train's signing_key and list the public key in trusted_keys "
                     "(PM_MODEL_TRUSTED_KEYS)" % (model_path, why))


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _requirements():
    require_numpy()
    require("scikit-learn and joblib", HAS_SKLEARN, SKLEARN_IMPORT_ERROR)


def _sklearn_version():
    """The installed scikit-learn's version, without importing it (its import alone takes most of a second)."""
    from importlib.metadata import version, PackageNotFoundError  # pylint: disable=import-outside-toplevel
    try:
        return version("scikit-learn")
    except PackageNotFoundError:
        import sklearn  # pylint: disable=import-outside-toplevel
        return sklearn.__version__


def _trees_blob(model_path, manifest):
    """The bytes of the model's trees file when its manifest names it and it sits beside the model, else None;
    ModelError when they do not match the manifest."""
    digest = manifest.get("trees_sha256")
    path = trees_path(model_path)
    if not digest or not os.path.exists(path):
        return None
    with open(path, "rb") as f:
        blob = f.read()
    actual = hashlib.sha256(blob).hexdigest()
    if actual != digest:
        raise ModelError("Model trees %s do not match their manifest (sha256 %s, manifest says %s): restore the file "
                         "or re-train with predictive.mirroring.fps_train" % (path, actual, digest))
    return blob


def _load_trees(model_path, manifest):
    """The model's trees (None when it has none: the estimator is unpickled instead)."""
    blob = _trees_blob(model_path, manifest)
    if blob is None:
        return None
    import io  # pylint: disable=import-outside-toplevel
    return trees.Trees(trees.read(io.BytesIO(blob), trees_path(model_path)))


def _trees_of(estimator, baseline):
    """The estimator's trees as arrays when they give exactly its probabilities on rows on both sides of every
    threshold they use; None when the estimator is not one trees.py reads, or (another scikit-learn) they do not."""
    data = trees.arrays(estimator)
    if data is None:
        return None
    rows = trees.probe_rows(data, model_input(np.asarray(baseline, dtype=float)[None, :])[0])
    if not np.array_equal(trees.Trees(data).predict_proba(rows), estimator.predict_proba(rows)):
        return None
    return data


def read_manifest(model_path):
    mpath = manifest_path(model_path)
    if os.path.isdir(model_path):
        raise ModelError("Model path %s is a directory: give the model file (for example %s)"
                         % (model_path, os.path.join(model_path, "model.joblib")))
    if not os.path.exists(model_path):
        raise ModelError("Model file %s not found: train one with predictive.mirroring.fps_train" % model_path)
    if not os.path.exists(mpath):
        raise ModelError("Model manifest %s not found: a model is only loaded with the manifest fps_train wrote "
                         "beside it" % mpath)
    try:
        with open(mpath, encoding="utf-8") as f:
            manifest = json.load(f)
    except (OSError, ValueError) as e:
        raise ModelError("Model manifest %s is unreadable: %s" % (mpath, e)) from None
    for key in ("sha256", "feature_names", "sklearn_version", "format"):
        if key not in manifest:
            raise ModelError("Model manifest %s lacks %r: re-train with predictive.mirroring.fps_train" % (mpath, key))
    return manifest


def register(store, model_path):
    """Write a saved model into the store's registry: its joblib bytes, its manifest's exact bytes (what a signature
    covers) and its signature if it has one. True when the store did not hold it yet."""
    manifest = read_manifest(model_path)
    if sha256_file(model_path) != manifest["sha256"]:
        raise ModelError("Model file %s does not match its manifest: not registered" % model_path)
    with open(model_path, "rb") as f:
        artefact = f.read()
    with open(manifest_path(model_path), "rb") as f:
        manifest_bytes = f.read()
    signature = None
    if os.path.exists(signature_path(model_path)):
        with open(signature_path(model_path), "rb") as f:
            signature = f.read()
    try:
        forest = _trees_blob(model_path, manifest)
    except ModelError as e:
        raise ModelError("%s; not registered" % e) from None
    return store.add_model(artefact, manifest_bytes, signature, fingerprint=manifest.get("fingerprint"),
                           created=manifest.get("created"), trees=forest)


def _write_private(path, data):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def _need_store(ref, store_params):
    if not history.store_configured(store_params or {}):
        raise ModelError("Model %s is in a history store's registry, but no store is given: set history_dsn "
                         "(PM_HISTORY_DSN) or the history_path of an existing store" % ref)


def load_ref(ref, store_params=None, trusted_keys=None, allow_unsigned=False):
    """The model a reference names: a file path, or store:latest / store:newest / store:<sha256> in the registry of
    the store store_params name (history_path / history_dsn). Either way its origin is proven before unpickling."""
    if not is_store_ref(ref):
        return FPSModel.load(ref, trusted_keys=trusted_keys, allow_unsigned=allow_unsigned)
    _need_store(ref, store_params)
    with history.open_store(store_params or {}) as store:
        return FPSModel.load_from_store(store, ref[len(STORE_PREFIX):] or "latest", trusted_keys, allow_unsigned)


def manifest_of(ref, store_params=None):
    """A model's manifest (nothing unpickled), from a path or a store reference."""
    if not is_store_ref(ref):
        return read_manifest(ref)
    _need_store(ref, store_params)
    with history.open_store(store_params or {}) as store:
        sha = store.find_model(ref[len(STORE_PREFIX):] or "latest")
        return json.loads(store.model_files(sha)[1])


class FPSModel:
    """A loaded, verified model and its manifest."""

    def __init__(self, estimator, manifest, path=None, pickled=None, forest=None):
        self._estimator = estimator
        self._pickled = pickled  # the verified joblib bytes, unpickled when a score first needs the estimator
        self.trees = forest  # trees.Trees, or None
        self.manifest = manifest
        self.path = path
        self.origin = None
        self.feature_names = tuple(manifest["feature_names"])
        self.baseline = np.asarray(manifest.get("baseline") or [telemetry.IMPUTE.get(n, 0.0) for n in self.feature_names],
                                   dtype=float)

    @classmethod
    def load(cls, model_path, trusted_keys=None, allow_unsigned=False):
        """Prove the manifest's origin, verify model_path against it, then unpickle it."""
        _requirements()
        manifest = read_manifest(model_path)
        origin = verify_origin(model_path, trusted_keys, allow_unsigned)
        if manifest["format"] != MANIFEST_FORMAT:
            raise ModelError("Model manifest %s has format %s, this collection reads format %s: re-train with "
                             "predictive.mirroring.fps_train" % (manifest_path(model_path), manifest["format"], MANIFEST_FORMAT))
        with open(model_path, "rb") as f:
            pickled = f.read()  # hashed and, when needed, unpickled from these very bytes
        actual = hashlib.sha256(pickled).hexdigest()
        if actual != manifest["sha256"]:
            raise ModelError("Model file %s does not match its manifest (sha256 %s, manifest says %s): refusing to "
                             "unpickle it. Restore the file or re-train with predictive.mirroring.fps_train"
                             % (model_path, actual, manifest["sha256"]))
        installed = _sklearn_version()
        if manifest["sklearn_version"] != installed:
            raise ModelError("Model %s was built with scikit-learn %s but this controller has %s: pickled models only "
                             "load in the version that made them. Re-train here with predictive.mirroring.fps_train "
                             "(bootstrap: true, or from your history store)" % (model_path, manifest["sklearn_version"],
                                                                                installed))
        if tuple(manifest["feature_names"]) != telemetry.FEATURE_NAMES:
            raise ModelError("Model %s expects features %s, this collection computes %s: re-train with "
                             "predictive.mirroring.fps_train"
                             % (model_path, ",".join(manifest["feature_names"]), ",".join(telemetry.FEATURE_NAMES)))
        if manifest.get("log_grid") != log_grid():
            raise ModelError("Model %s was trained on another feature grid than this collection scores on (log_grid %s, "
                             "this collection's %s): re-train with predictive.mirroring.fps_train"
                             % (model_path, manifest.get("log_grid"), log_grid()))
        loaded = cls(None, manifest, model_path, pickled=pickled, forest=_load_trees(model_path, manifest))
        loaded.origin = origin
        if loaded.trees is None:
            loaded.estimator  # pylint: disable=pointless-statement  # unpickled now: a bad file fails the load
        try:
            loaded.score(loaded.baseline[None, :])
        except Exception as e:  # pylint: disable=broad-except
            raise ModelError("Model file %s cannot score a VM (%s): re-train with predictive.mirroring.fps_train"
                             % (model_path, e)) from None
        return loaded

    @property
    def estimator(self):
        """The scikit-learn estimator, unpickled from the verified bytes the first time it is needed."""
        if self._estimator is None:
            import io  # pylint: disable=import-outside-toplevel
            import joblib  # pylint: disable=import-outside-toplevel
            try:
                estimator = joblib.load(io.BytesIO(self._pickled))
            except Exception as e:  # pylint: disable=broad-except
                raise ModelError("Model file %s could not be loaded: %s" % (self.path, e)) from None
            if not callable(getattr(estimator, "predict_proba", None)) or list(getattr(estimator, "classes_", [])) != [0, 1]:
                raise ModelError("Model file %s holds a %s, not a fitted FPS classifier: re-train with "
                                 "predictive.mirroring.fps_train" % (self.path, type(estimator).__name__))
            self._estimator = estimator
        return self._estimator

    @classmethod
    def load_from_store(cls, store, ref="latest", trusted_keys=None, allow_unsigned=False):
        """A model from the store's registry (latest: the one promoted last), verified exactly as a file is: the
        stored blobs (joblib file, manifest, signature and trees where there are) are written to a private temporary directory and loaded from there."""
        sha = store.find_model(ref)
        artefact, manifest, signature = store.model_files(sha)
        forest = store.model_trees(sha)
        label = "%s%s" % (STORE_PREFIX, sha)
        with tempfile.TemporaryDirectory(prefix="pm-model-") as work:
            path = os.path.join(work, "model.joblib")
            _write_private(path, artefact)
            _write_private(manifest_path(path), manifest)
            if signature is not None:
                _write_private(signature_path(path), signature)
            if forest is not None:
                _write_private(trees_path(path), forest)
            try:
                loaded = cls.load(path, trusted_keys=trusted_keys, allow_unsigned=allow_unsigned)
            except ModelError as e:
                raise ModelError(str(e).replace(manifest_path(path), label + " (manifest)").replace(
                    trees_path(path), label + " (trees)").replace(
                    signature_path(path), label + " (signature)").replace(path, label) + " [in %s]" % store.where) from None
        loaded.path = label
        return loaded

    def _check(self, X):
        X = np.asarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != len(self.feature_names):
            raise ModelError("Feature matrix has shape %s, the model wants (n, %d)" % (X.shape, len(self.feature_names)))
        if not np.isfinite(X).all():
            raise ModelError("Feature matrix holds NaN or infinite values: impute them first (telemetry.features does)")
        return X

    def score(self, X):
        """FPS (0-100) for every row of X, in one vectorised call."""
        X = self._check(X)
        if len(X) == 0:
            return np.zeros(0)
        if self.trees is not None and len(X) < TREES_MAX_ROWS:
            p = self.trees.predict_proba(model_input(X))[:, 1]
            return fps_of(p, X)
        # scikit-learn's OpenMP threads pay only on big batches: on this 2-core machine, quiet, 3 scores of 10,000
        # rows took 0.13 s with them and 0.24 s without, of 300,000 rows (the reasons of 10,000 VMs) 3.7 s and 6.7 s;
        # with the cores busy (Ansible's forks, other jobs) they cost far more than they save: 10 scores of 8 rows
        # 0.5 s against 0.07 s, 3 of 10,000 rows 2.2 s against 0.4 s. So small batches score on one thread.
        from threadpoolctl import threadpool_limits  # pylint: disable=import-outside-toplevel
        with threadpool_limits(limits=1 if len(X) < SCORE_THREADED_ROWS else None, user_api="openmp"):
            p = self.estimator.predict_proba(model_input(X))[:, 1]
        return fps_of(p, X)

    def reasons(self, X, fps=None, top=3, min_points=0.5):
        """Each row's top `top` reasons: [{feature, value, contribution, text}] (contribution in FPS points)."""
        X = self._check(X)
        n, f = X.shape
        if n == 0:
            return []
        fps = self.score(X) if fps is None else np.asarray(fps, dtype=float)
        stacked = np.repeat(X[None, :, :], f, axis=0)  # (f, n, f)
        for j in range(f):
            stacked[j, :, j] = self.baseline[j]
        occluded = self.score(stacked.reshape(f * n, f)).reshape(f, n)
        contrib = fps[None, :] - occluded  # (f, n)
        out = []
        order = np.argsort(-contrib, axis=0)[:top]  # (top, n)
        # a value past a documented alarm line is always named, with the line, even when the model's own reasons
        # (the same symptom against the VM's normal) come first
        lines = [(self.feature_names.index(name), line > 0) for name, line in telemetry.line_floors(X).items()]
        for i in range(n):
            picked = [j for j in order[:, i] if contrib[j, i] >= min_points]
            picked += [j for j, past in lines if past[i] and j not in picked]
            row = []
            for j in picked:
                name = self.feature_names[j]
                row.append({"feature": name, "value": round(float(X[i, j]), 3), "contribution": round(float(contrib[j, i]), 1),
                            "text": telemetry.describe(name, float(X[i, j]), dict(zip(self.feature_names, X[i])))})
            out.append(row)
        return out


def fps_of(p, X):
    """The FPS of rows X whose calibrated failure probabilities are p: the model's, never below the documented alarm
    lines' floor (both monotone in every symptom, so their maximum is too: a tree model is flat beyond the values its
    training saw, the lines keep rising). What FPSModel.score gives and what a hold-out is judged on."""
    return np.maximum(np.round(100.0 * np.asarray(p, dtype=float), 1), telemetry.alarm_floor(X))


def expected_calibration_error(y, p, bins=10):
    """ECE over equal-width probability bins, weighted by bin size."""
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    ece = 0.0
    for b in range(bins):
        m = idx == b
        if m.any():
            ece += abs(p[m].mean() - y[m].mean()) * m.mean()
    return float(ece)


def reliability(y, p, bins=10):
    """[mean predicted, observed rate, count] per non-empty bin: the reliability curve."""
    idx = np.clip((p * bins).astype(int), 0, bins - 1)
    return [[round(float(p[idx == b].mean()), 4), round(float(y[idx == b].mean()), 4), int((idx == b).sum())]
            for b in range(bins) if (idx == b).any()]


def evaluate(y, fps, ttf, failover_threshold):
    """Hold-out metrics for the manifest."""
    from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score  # pylint: disable=import-outside-toplevel
    p = np.asarray(fps, dtype=float) / 100.0
    y = np.asarray(y)
    alert = fps >= failover_threshold
    tp = int((alert & (y == 1)).sum())
    lead = np.asarray(ttf)[alert & (y == 1)]
    return {
        "roc_auc": round(float(roc_auc_score(y, p)), 4),
        "pr_auc": round(float(average_precision_score(y, p)), 4),
        "brier": round(float(brier_score_loss(y, p)), 5),
        "ece": round(expected_calibration_error(y, p), 5),
        "base_rate": round(float(y.mean()), 5),
        "failover_threshold": failover_threshold,
        "precision_at_failover": round(tp / int(alert.sum()), 4) if alert.any() else None,
        "recall_at_failover": round(tp / int((y == 1).sum()), 4),
        "alerts_at_failover": int(alert.sum()),
        "median_lead_time_hours": round(float(np.median(lead)), 2) if len(lead) else None,
        "holdout_windows": int(len(y)),
        "holdout_positives": int((y == 1).sum()),
        "reliability": reliability(y, p),
    }


def canonical_order(X, y, time_h):
    """Time order, ties broken by the features and the label: the same data in any order trains the same model."""
    X = np.asarray(X, dtype=float)
    keys = [np.asarray(y)] + [X[:, j] for j in range(X.shape[1] - 1, -1, -1)] + [np.asarray(time_h, dtype=float)]
    return np.lexsort(keys)


def training_fingerprint(X, y, time_h, holdout, failover_threshold, seed=0):
    """Identifies a training run: same data and parameters, same model."""
    order = canonical_order(X, y, time_h)
    params = dict(ESTIMATOR_PARAMS, random_state=seed, holdout=holdout, failover_threshold=failover_threshold,
                  monotonic_cst=monotonic_constraints(), log_grid=[list(LOG_GRID), LOG_GRID_STEPS])
    return _fingerprint(np.asarray(X, dtype=float)[order], np.asarray(y, dtype=int)[order], params)


def _fingerprint(X, y, params):
    h = hashlib.sha256()
    h.update(np.ascontiguousarray(X, dtype=np.float64).tobytes())
    h.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    h.update(json.dumps(params, sort_keys=True).encode())
    return h.hexdigest()


def train(X, y, time_h, time_to_failure_h, summary, failover_threshold=DEFAULT_FAILOVER_THRESHOLD, holdout=0.25,
          min_positives=MIN_POSITIVES, seed=0):
    """Fit a calibrated gradient-boosting model; evaluate on the latest `holdout` fraction of time.

    Returns (estimator, manifest without sha256). Raises TrainingError when
    the data cannot give a trustworthy model.
    """
    _requirements()
    X = np.asarray(X, dtype=float)
    y = np.asarray(y, dtype=int)
    time_h = np.asarray(time_h, dtype=float)
    if X.ndim != 2 or X.shape[1] != len(telemetry.FEATURE_NAMES) or len(X) != len(y):
        raise TrainingError("Training data has shape %s with %d labels; want (n, %d)" % (X.shape, len(y), len(telemetry.FEATURE_NAMES)))
    if not 0.05 <= holdout <= 0.5:
        raise TrainingError("holdout must be within 0.05..0.5, got %s" % holdout)
    positives = int(y.sum())
    if positives < min_positives:
        raise TrainingError("Only %d failure windows among %d: at least %d are needed to learn from. Harvest more "
                            "history (predictive.mirroring.fps_history) or train on the bootstrap set"
                            % (positives, len(y), min_positives))
    order = canonical_order(X, y, time_h)
    X, y, time_h, ttf = X[order], y[order], time_h[order], np.asarray(time_to_failure_h, dtype=float)[order]
    cut = int(len(y) * (1 - holdout))
    test_pos = int(y[cut:].sum())
    if test_pos < MIN_HOLDOUT_POSITIVES or int(y[:cut].sum()) < MIN_HOLDOUT_POSITIVES:
        raise TrainingError("The time-ordered split leaves %d failure windows for training and %d for the hold-out: "
                            "at least %d each are needed" % (int(y[:cut].sum()), test_pos, MIN_HOLDOUT_POSITIVES))
    import sklearn  # pylint: disable=import-outside-toplevel
    from sklearn.calibration import CalibratedClassifierCV  # pylint: disable=import-outside-toplevel
    from sklearn.ensemble import HistGradientBoostingClassifier  # pylint: disable=import-outside-toplevel
    params = dict(ESTIMATOR_PARAMS, random_state=seed)
    estimator = CalibratedClassifierCV(HistGradientBoostingClassifier(monotonic_cst=monotonic_constraints(), **params),
                                       method="isotonic", cv=3)
    estimator.fit(model_input(X[:cut]), y[:cut])
    fps_test = fps_of(estimator.predict_proba(model_input(X[cut:]))[:, 1], X[cut:])  # as the inventory will score them
    metrics = evaluate(y[cut:], fps_test, ttf[cut:], failover_threshold)
    negatives = X[:cut][y[:cut] == 0]
    manifest = {
        "format": MANIFEST_FORMAT,
        "created": _created(),
        "sklearn_version": sklearn.__version__,
        "estimator": "CalibratedClassifierCV(HistGradientBoostingClassifier(monotonic_cst), isotonic, cv=3) on "
                     "model_input (LOG_GRID features on a log grid of %d steps per doubling)" % LOG_GRID_STEPS,
        "log_grid": log_grid(),
        "estimator_params": params,
        "feature_names": list(telemetry.FEATURE_NAMES),
        "baseline": [round(float(v), 4) for v in np.median(negatives, axis=0)],
        "horizon_hours": summary.get("horizon_hours"),
        "training": dict(summary, windows=int(len(y)), positives=positives, train_windows=cut,
                         holdout_windows=int(len(y) - cut)),
        "fingerprint": training_fingerprint(X, y, time_h, holdout, failover_threshold, seed),
        "metrics": metrics,
    }
    return estimator, manifest


def _created():
    """Build time; SOURCE_DATE_EPOCH pins it for a reproducible manifest."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    when = (datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc) if epoch and epoch.isdigit()
            else datetime.datetime.now(datetime.timezone.utc))
    return when.replace(microsecond=0).isoformat()


def save(estimator, manifest, model_path):
    """Write model_path (joblib) and its manifest; the manifest carries the file's sha256."""
    _requirements()
    directory = os.path.dirname(os.path.abspath(model_path))
    os.makedirs(directory, exist_ok=True)
    import joblib  # pylint: disable=import-outside-toplevel
    tmp = model_path + ".tmp"
    joblib.dump(estimator, tmp, compress=3)
    manifest = dict(manifest, sha256=sha256_file(tmp))
    manifest.pop("trees_sha256", None)
    data = _trees_of(estimator, manifest.get("baseline") or [telemetry.IMPUTE.get(n, 0.0) for n in manifest["feature_names"]])
    ttmp = trees_path(model_path) + ".tmp"
    if data is not None:
        trees.write(ttmp, data)
        manifest["trees_sha256"] = sha256_file(ttmp)
    mtmp = manifest_path(model_path) + ".tmp"
    with open(mtmp, "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
        f.write("\n")
    if os.path.exists(signature_path(model_path)):
        os.remove(signature_path(model_path))  # it signed the manifest being replaced
    os.replace(tmp, model_path)
    if data is not None:
        os.replace(ttmp, trees_path(model_path))
    elif os.path.exists(trees_path(model_path)):
        os.remove(trees_path(model_path))  # the replaced model's
    os.replace(mtmp, manifest_path(model_path))
    return manifest
