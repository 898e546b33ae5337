# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The FPS model's trees as plain NumPy arrays: the same probabilities as the scikit-learn estimator they were read
from, bit for bit, without importing scikit-learn or SciPy (about a second of CPU at every start of the inventory and
of every module that scores) and without unpickling anything.

`arrays(estimator)` reads a fitted CalibratedClassifierCV(HistGradientBoostingClassifier, method="isotonic") of a
binary target - what fps_train builds - into arrays; any other estimator gives None and the model is scored through
scikit-learn as before. `Trees(arrays).predict_proba(X)` repeats scikit-learn's arithmetic in its order: each tree
sends a row left when its value is <= the split's threshold (NaN: the side the tree learnt for missing values), a
fold's raw score is its baseline plus its trees' leaf values added one after another, the isotonic calibrator clips
it to its range and interpolates linearly as SciPy's interp1d does, and the folds' probabilities are averaged.
`model.save` writes the arrays only when they give exactly the estimator's probabilities on rows that sit on both
sides of every threshold the trees use; the manifest then carries the file's sha256, so its origin is proven as the
model's is.

The file is a sequence of .npy records (numpy.save, no pickle) in the order of FIELDS, deterministic for the same
model (a rebuilt model's manifest has the same digest).
"""

from __future__ import annotations

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ModelError
from ansible_collections.predictive.mirroring.plugins.module_utils.numeric import np

FORMAT = 1
# per node (all trees of all folds, one after another): a leaf's left and right point to itself
# per tree: its root node and its fold; per fold: its baseline and its isotonic calibrator (x, y, clip range)
FIELDS = ("format", "feature", "threshold", "missing_left", "left", "right", "value", "root", "fold", "baseline",
          "iso_start", "iso_x", "iso_y", "iso_range", "depth", "n_features")
ROWS_PER_CHUNK = 4096


def arrays(estimator):
    """The arrays of a fitted isotonic CalibratedClassifierCV over HistGradientBoostingClassifier of a binary
    target, or None for any other estimator."""
    folds = getattr(estimator, "calibrated_classifiers_", None)
    if (not folds or getattr(estimator, "method", None) != "isotonic"
            or list(getattr(estimator, "classes_", [])) != [0, 1]):
        return None
    nodes, roots, fold_of, baselines, iso, ranges = [], [], [], [], [], []
    offset, depth, n_features = 0, 0, None
    for k, fold in enumerate(folds):
        hgb = fold.estimator
        if (type(hgb).__name__ != "HistGradientBoostingClassifier" or getattr(hgb, "n_trees_per_iteration_", 0) != 1
                or getattr(hgb, "is_categorical_", None) is not None or len(fold.calibrators) != 1
                or type(fold.calibrators[0]).__name__ != "IsotonicRegression"):
            return None
        n_features = hgb.n_features_in_ if n_features is None else n_features
        for (predictor,) in hgb._predictors:  # pylint: disable=protected-access
            t = predictor.nodes
            if t["is_categorical"].any():
                return None
            nodes.append(t)
            roots.append(offset)
            fold_of.append(k)
            offset += len(t)
            depth = max(depth, int(t["depth"].max()))
        baselines.append(float(np.asarray(hgb._baseline_prediction).ravel()[0]))  # pylint: disable=protected-access
        cal = fold.calibrators[0]
        if cal.out_of_bounds != "clip":
            return None
        iso.append((np.asarray(cal.X_thresholds_, dtype=float), np.asarray(cal.y_thresholds_, dtype=float)))
        ranges.append((float(cal.X_min_), float(cal.X_max_)))
    t = np.concatenate(nodes)
    starts = np.repeat(np.asarray(roots, dtype=np.int64), [len(n) for n in nodes])
    leaf = t["is_leaf"].astype(bool)
    own = np.arange(len(t), dtype=np.int64)
    return {
        "format": np.asarray([FORMAT], dtype=np.int64),
        "feature": np.where(leaf, 0, t["feature_idx"]).astype(np.int64),
        "threshold": t["num_threshold"].astype(float),
        "missing_left": t["missing_go_to_left"].astype(bool),
        "left": np.where(leaf, own, starts + t["left"]).astype(np.int64),
        "right": np.where(leaf, own, starts + t["right"]).astype(np.int64),
        "value": t["value"].astype(float),
        "root": np.asarray(roots, dtype=np.int64),
        "fold": np.asarray(fold_of, dtype=np.int64),
        "baseline": np.asarray(baselines, dtype=float),
        "iso_start": np.cumsum([0] + [len(x) for x, y in iso]).astype(np.int64),
        "iso_x": np.concatenate([x for x, y in iso]),
        "iso_y": np.concatenate([y for x, y in iso]),
        "iso_range": np.asarray(ranges, dtype=float).reshape(-1, 2),
        "depth": np.asarray([depth], dtype=np.int64),
        "n_features": np.asarray([n_features], dtype=np.int64),
    }


def write(path, data):
    with open(path, "wb") as f:
        for name in FIELDS:
            np.save(f, np.ascontiguousarray(data[name]), allow_pickle=False)


def read(f, label):
    """The arrays write() put in file object f (label names it in errors); ModelError when it holds none."""
    try:
        data = {name: np.load(f, allow_pickle=False) for name in FIELDS}
    except (OSError, ValueError, EOFError) as e:
        raise ModelError("Model trees %s are unreadable: %s" % (label, e)) from None
    if int(data["format"][0]) != FORMAT:
        raise ModelError("Model trees %s have format %s, this collection reads %s" % (label, data["format"][0], FORMAT))
    return data


class Trees:
    """A model's trees, scored with NumPy: predict_proba as the estimator they were read from."""

    classes_ = (0, 1)

    def __init__(self, data):
        self.d = data
        n = len(data["value"])
        folds = len(data["baseline"])
        for name in ("left", "right", "feature"):
            v = data[name]
            if len(v) != n or (len(v) and (v.min() < 0 or v.max() >= (n if name != "feature" else data["n_features"][0]))):
                raise ModelError("Model trees: %s out of range" % name)
        if data["fold"].min() < 0 or data["fold"].max() >= folds or len(data["iso_start"]) != folds + 1:
            raise ModelError("Model trees: folds out of range")
        self.n_features = int(data["n_features"][0])
        self.depth = int(data["depth"][0])
        self.folds = [np.flatnonzero(data["fold"] == k) for k in range(folds)]

    def _raw(self, X, k):
        """Fold k's raw score (HistGradientBoostingClassifier.decision_function) of rows X."""
        d = self.d
        roots = d["root"][self.folds[k]]
        n = len(X)
        idx = np.repeat(roots[None, :], n, axis=0).ravel()
        row = np.repeat(np.arange(n, dtype=np.int64) * self.n_features, len(roots))
        flat = X.ravel()
        nan = bool(np.isnan(flat).any())
        active = np.arange(len(idx))  # the (row, tree) pairs not at a leaf yet
        for dummy in range(self.depth):
            at = idx[active]
            v = flat[row[active] + d["feature"][at]]
            go_left = v <= d["threshold"][at]
            if nan:
                go_left = np.where(np.isnan(v), d["missing_left"][at], go_left)
            nxt = np.where(go_left, d["left"][at], d["right"][at])
            idx[active] = nxt
            active = active[nxt != at]
            if not len(active):
                break
        idx = idx.reshape(n, len(roots))
        leaves = d["value"][idx]
        raw = np.zeros(n)
        raw += d["baseline"][k]
        for t in range(leaves.shape[1]):  # one tree after another, as scikit-learn adds them
            raw += leaves[:, t]
        return raw

    def _calibrated(self, raw, k):
        """IsotonicRegression(out_of_bounds="clip").predict: SciPy's interp1d(kind="linear") on its thresholds."""
        d = self.d
        x = d["iso_x"][d["iso_start"][k]:d["iso_start"][k + 1]]
        y = d["iso_y"][d["iso_start"][k]:d["iso_start"][k + 1]]
        raw = np.clip(raw, d["iso_range"][k, 0], d["iso_range"][k, 1])
        if len(y) == 1:
            return np.repeat(y, len(raw))
        hi = np.searchsorted(x, raw).clip(1, len(x) - 1)
        lo = hi - 1
        slope = (y[hi] - y[lo]) / (x[hi] - x[lo])
        return slope * (raw - x[lo]) + y[lo]

    def predict_proba(self, X):
        X = np.ascontiguousarray(X, dtype=float)
        if X.ndim != 2 or X.shape[1] != self.n_features:
            raise ModelError("Feature matrix has shape %s, the model's trees want (n, %d)" % (X.shape, self.n_features))
        out = np.zeros((len(X), 2))
        for start in range(0, len(X), ROWS_PER_CHUNK):
            rows = X[start:start + ROWS_PER_CHUNK]
            mean = np.zeros((len(rows), 2))
            for k in range(len(self.folds)):
                proba = np.zeros((len(rows), 2))
                proba[:, 1] = self._calibrated(self._raw(rows, k), k)
                proba[:, 0] = 1.0 - proba[:, 1]
                proba[(1.0 < proba) & (proba <= 1.0 + 1e-5)] = 1.0
                mean += proba
            mean /= len(self.folds)
            out[start:start + ROWS_PER_CHUNK] = mean
        return out


def probe_rows(data, baseline, count=2000, seed=0):
    """Rows that sit on both sides of every threshold the trees use (each value drawn from a feature's thresholds, the
    next float above one, or the healthy baseline), to check Trees against the estimator on every branch."""
    rng = np.random.default_rng(seed)
    f = int(data["n_features"][0])
    internal = data["left"] != np.arange(len(data["left"]))
    rows = np.repeat(np.asarray(baseline, dtype=float)[None, :], count, axis=0)
    for j in range(f):
        cuts = np.unique(data["threshold"][internal & (data["feature"] == j)])
        if len(cuts):
            choices = np.concatenate([cuts, np.nextafter(cuts, np.inf), [baseline[j]]])
            rows[:, j] = rng.choice(choices, size=count)
    return rows
