"""Scoring throughput of the default model, one process: one vectorised call vs one call per VM.

    .venv/bin/python benchmarks/scoring.py [--rows 100000]

The rows are synthetic windows from the bootstrap failure process. The per-VM
loop (what scoring inside a per-host task would do) runs on 2,000 rows and is
reported per second, measured, not extrapolated to the full set.
"""
import argparse
import os
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


if __name__ == "__main__":
    main()
