"""How much of the failure process a perfect observer could catch, beside what the bundled model catches: one run.

    .venv/bin/python benchmarks/fps_ceiling.py [--model models/default/model.joblib] [--replicates 400]

The bundled model's hold-out (issue 32's goal: recall >= 0.35 at the failover threshold, FPS 85, at precision
>= 0.85) is the last quarter in time of the bootstrap set (fleet.bootstrap_set, model.train's split). Whether that
goal can be reached at all is a property of the failure process: a failure is drawn from a hazard, so even an
observer who knew every VM's true state would give some failing windows less than 85 %. This measures that ceiling
on the same hold-out windows, from the same simulation (fleet.Fleet, same seed): each window's probability of a
failure within the model's 12-hour horizon given

- the true state: each failure mode's severity and the pace it ramps at (fleet.py's own process run forward
  `replicates` times from that state: ramp, repair below REPAIRABLE_BELOW, onset, hazard), and
- the severity alone: the same with the pace unknown (drawn from its range), what a window without a trend over the
  VM's recent hours can know at best;

then alerts at 85 % like the failover threshold. The model is scored on the very same windows (its FPS, what the
inventory computes). Printed as JSON, with the model's recall as a share of each ceiling's.
"""
import argparse
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, model  # noqa: E402  pylint: disable=wrong-import-position

FAILOVER = 85.0
HOLDOUT = 0.25
RAMPING = ("disk", "memory", "host")  # fleet.py's modes that ramp to a failure; network and region come and go


def forward(sim, step_h, steps, vms, horizon_h, replicates, pace_known, rng):
    """P(failure within horizon_h after the end of step `steps`) for each (step, VM), by running fleet.py's process."""
    sev_all, out = sim["severity"], np.zeros(len(steps))
    for a in range(0, len(steps), 2000):
        s, v = steps[a:a + 2000], vms[a:a + 2000]
        n = len(s)
        now = {k: sev_all[k][s + 1, v].astype(float) for k in fleet.MODES}
        prev = {k: sev_all[k][s, v].astype(float) for k in fleet.MODES}
        sev, ramp, active = {}, {}, {}
        for k in RAMPING:
            if pace_known:  # one step's rise is step_h / ramp hours; none (or clipped at 1): holds
                rise = now[k] - prev[k]
                pace = np.where(rise > 1e-6, step_h / np.maximum(rise, 1e-6), np.inf)[:, None]
            else:
                pace = np.where(now[k][:, None] > 0, rng.uniform(*fleet.RAMP_HOURS[k], (n, replicates)), np.inf)
            sev[k] = np.repeat(now[k][:, None], replicates, 1)
            ramp[k] = np.broadcast_to(pace, (n, replicates)).copy()
            active[k] = sev[k] > 0
        alive = np.ones((n, replicates), bool)
        episodic = {k: now[k][:, None] for k in fleet.MODES if k not in RAMPING}  # held where they are
        for _step in range(int(round(horizon_h / step_h))):
            for k in RAMPING:
                start = ~active[k] & (rng.random((n, replicates)) < 1 - np.exp(-fleet.ONSET_PER_HOUR[k] * step_h))
                ramp[k] = np.where(start, rng.uniform(*fleet.RAMP_HOURS[k], (n, replicates)), ramp[k])
                active[k] |= start
                sev[k] = np.where(active[k], np.clip(sev[k] + step_h / ramp[k], 0, 1), sev[k])
                fixed = active[k] & (sev[k] < fleet.REPAIRABLE_BELOW) & (
                    rng.random((n, replicates)) < 1 - np.exp(-fleet.REPAIR_PER_HOUR[k] * step_h))
                sev[k] = np.where(fixed, 0.0, sev[k])
                active[k] &= ~fixed
            # fleet.py's own hazard; the host's crash is one more hazard of the same step (fleet.run draws it apart)
            alive &= rng.random((n, replicates)) >= 1 - np.exp(-fleet.hazard(dict(sev, **episodic)) * step_h)
        out[a:a + n] = 1.0 - alive.mean(axis=1)
    return out


def at_threshold(y, p):
    alert = p >= FAILOVER / 100.0
    return {"alerts": int(alert.sum()), "precision": round(float(y[alert].mean()), 4) if alert.any() else None,
            "recall": round(float(y[alert].sum() / y.sum()), 4)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "default", "model.joblib"))
    ap.add_argument("--replicates", type=int, default=400)
    args = ap.parse_args()
    m = model.FPSModel.load(args.model)
    training = m.manifest["training"]
    data = fleet.bootstrap_set(seed=training["seed"], n_vms=training["vms"], days=training["days"],
                               windows=training["windows"], horizon_hours=training["horizon_hours"])
    order = model.canonical_order(data["X"], data["y"], data["time_h"])
    held = order[int(len(order) * (1 - HOLDOUT)):]
    y = data["y"][held]
    # the same simulation again (its random draws come first, so the same seed gives the same fleet history)
    sim_fleet = fleet.Fleet(seed=training["seed"], n_vms=training["vms"])
    sim = sim_fleet.run(training["days"])
    steps = np.round(data["time_h"][held] / sim_fleet.step_h).astype(int) - 1
    rng = np.random.default_rng(32)
    horizon = training["horizon_hours"]
    truth = forward(sim, sim_fleet.step_h, steps, data["vm"][held], horizon, args.replicates, True, rng)
    level = forward(sim, sim_fleet.step_h, steps, data["vm"][held], horizon, args.replicates, False, rng)
    fps = m.score(data["X"][held])
    out = {"holdout_windows": int(len(y)), "holdout_positives": int(y.sum()),
           "true_state": at_threshold(y, truth), "severity_only": at_threshold(y, level),
           "model": at_threshold(y, fps / 100.0),
           "calibration": {"base_rate": round(float(y.mean()), 4), "true_state_mean_p": round(float(truth.mean()), 4)}}
    out["model_recall_share_of"] = {k: round(out["model"]["recall"] / out[k]["recall"], 2)
                                    for k in ("true_state", "severity_only") if out[k]["recall"]}
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
