"""Scoring throughput of the default model, one process: one vectorised call vs one call per VM; and what a run pays
to load the model and score a small fleet in a fresh process, on the model's trees (NumPy) against scikit-learn.

    .venv/bin/python benchmarks/scoring.py [--rows 100000]

The rows are synthetic windows from the bootstrap failure process. The per-VM
loop (what scoring inside a per-host task would do) runs on 2,000 rows and is
reported per second, measured, not extrapolated to the full set.
"""
import argparse
import os
import resource
import subprocess
import sys
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model  # noqa: E402  pylint: disable=wrong-import-position


def timed(fn, repeat=3):
    best = float("inf")
    for _i in range(repeat):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


FRESH = """
import sys, numpy as np
sys.path.insert(0, %r)
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model
m = model.FPSModel.load(%r)
if sys.argv[2] == "sklearn":
    m.trees = None  # what a run did before the trees: unpickle the estimator, importing scikit-learn and SciPy
X = fleet.bootstrap_set(seed=99, n_vms=50, days=2, windows=int(sys.argv[1]))["X"]
fps = m.score(X)
m.reasons(X, fps)
print("sklearn" in sys.modules)
"""


def fresh(vms, how, repeat=3):
    """Best of `repeat` fresh processes: (wall s, CPU s) to load the model and score `vms` VMs with their reasons."""
    code = FRESH % (ROOT, os.path.join(ROOT, "models", "default", "model.joblib"))
    best = (float("inf"), float("inf"))
    for _i in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code, str(vms), how], capture_output=True, text=True, check=True)
        wall = time.perf_counter() - t
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        assert out.stdout.strip() == str(how == "sklearn"), out.stdout
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        best = min(best, (wall, cpu))
    return best


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100000)
    args = ap.parse_args()
    m = model.FPSModel.load(os.path.join(ROOT, "models", "default", "model.joblib"))
    X = fleet.bootstrap_set(seed=99, n_vms=1000, days=10, windows=args.rows)["X"]
    score = timed(lambda: m.score(X))
    fps = m.score(X)
    reasons = timed(lambda: m.reasons(X, fps), repeat=1)
    loop_rows = X[:2000]
    loop = timed(lambda: [m.score(row[None, :]) for row in loop_rows], repeat=1)
    print("| %d synthetic VMs, one process | time | VMs per second |" % args.rows)
    print("|---|---|---|")
    print("| FPS, one vectorised call | %.2f s | %s |" % (score, format(int(args.rows / score), ",")))
    both = score + reasons
    print("| FPS + top-3 reasons (occlusion, %d features) | %.2f s | %s |" % (X.shape[1], both, format(int(args.rows / both), ",")))
    print("| FPS, one call per VM (2,000 VMs) | %.2f s | %s |" % (loop, format(int(len(loop_rows) / loop), ",")))
    print("| **ratio** vectorised / per-VM throughput | | **%.0fx** |" % ((args.rows / score) / (len(loop_rows) / loop)))
    assert np.all((fps >= 0) & (fps <= 100))
    print()
    print("| load the model, score N VMs and their reasons, fresh process (best of 3) | on the trees (NumPy) | "
          "scikit-learn | ratio (CPU) |")
    print("|---|---|---|---|")
    for vms in (8, 100, 400):
        t_wall, t_cpu = fresh(vms, "trees")
        s_wall, s_cpu = fresh(vms, "sklearn")
        row = (vms, t_wall, t_cpu, s_wall, s_cpu, t_cpu / s_cpu)
        print("| %d VMs | %.2f s (CPU %.2f s) | %.2f s (CPU %.2f s) | **%.2fx** |" % row)


if __name__ == "__main__":
    main()
