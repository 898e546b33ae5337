# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failure process behind the bootstrap model and the demo scenarios.

One documented generator of fleet telemetry and failures, seeded and
reproducible. It is the single source of truth for:

* the bootstrap training set (bootstrap_set), which the default model is
  trained on, and
* the performance series the demo and the tests push into the simulator
  (scenario_series), so that the model and the scenarios agree.

The process, per VM, in steps of `step_minutes`:

* Baselines: CPU 5-70 %, memory 20-75 %, disk latency 1-6 ms, a few dropped
  packets per interval.
* Degradation modes start at random (Poisson onsets) and carry a severity
  s in [0, 1]:
    disk     per VM, ramps to 1 over 4-36 h (failing disk: latency grows ~ s^2)
    memory   per VM, ramps to 1 over 6-48 h (leak: usage climbs, then balloon/swap)
    network  per VM, episodes of 1-4 h (drops, warnings), then recovers
    host     per host, ramps over 2-24 h (hardware fault: health yellow/red,
             host error events, CPU ready), shared by the host's VMs
    region   per datacenter, episodes of 1-8 h (regional event: datacenter
             error events, CPU ready, drops), shared by the datacenter's VMs
  Disk, memory and host faults are also repaired at random (an operator
  fixes them), so a degrading VM does not always fail.
* Hazard (failures per hour):
    0.0002 + 0.6 s_disk^3 + 0.45 s_mem^4 + 0.03 s_net^2 + 0.12 s_host^3 + 0.03 s_region^2
  The constant part is the unpredictable background (one failure per ~200
  days). A failed VM is rebuilt: its VM-level modes reset.
* Events: warning and error events per step are Poisson with rates that
  grow with severity; they are counted over a trailing 24 h exactly as
  telemetry.count_events counts vCenter events (VM events for the VM; host
  events for the host, its cluster and datacenter; regional events for the
  datacenter).
* A window's label: a failure of that VM within `horizon_hours` after the
  window's end.
"""

from __future__ import annotations

import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import require
from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry

try:
    import numpy as np
    HAS_NUMPY = True
    NUMPY_IMPORT_ERROR = None
except ImportError:
    HAS_NUMPY = False
    NUMPY_IMPORT_ERROR = traceback.format_exc()


MODES = ("disk", "memory", "network", "host", "region")
BACKGROUND_HAZARD = 0.0002
HAZARD = {"disk": (0.6, 3), "memory": (0.45, 4), "network": (0.03, 2), "host": (0.12, 3), "region": (0.03, 2)}
ONSET_PER_HOUR = {"disk": 1 / (24 * 90.0), "memory": 1 / (24 * 90.0), "network": 1 / (24 * 30.0),
                  "host": 1 / (24 * 120.0), "region": 1 / (24 * 180.0)}
RAMP_HOURS = {"disk": (4, 36), "memory": (6, 48), "network": (0.25, 0.5), "host": (2, 24), "region": (0.5, 2)}
EPISODE_HOURS = {"network": (1, 4), "region": (1, 8)}
REPAIR_PER_HOUR = {"disk": 1 / 48.0, "memory": 1 / 48.0, "host": 1 / 24.0}
EVENT_WINDOW_HOURS = 24


def hazard(sev):
    """Failures per hour for severities {mode: array}."""
    h = BACKGROUND_HAZARD
    for mode, (k, p) in HAZARD.items():
        h = h + k * np.asarray(sev[mode]) ** p
    return h


def _baselines(rng, n):
    return {
        "cpu": rng.uniform(5, 70, n),
        "mem": rng.uniform(20, 75, n),
        "disk": rng.uniform(1, 6, n),
        "drops": rng.uniform(0, 1.5, n),
        "num_cpu": rng.choice([1, 2, 4, 8], n, p=[0.2, 0.4, 0.3, 0.1]).astype(float),
    }


def window_samples(rng, base, sev_start, sev_end, samples, interval):
    """Perf samples (vSphere units) for a window where severities move from sev_start to sev_end.

    base: baselines as from _baselines, arrays of m VMs. Returns
    {counter: float array (m, samples)}.
    """
    m = len(base["cpu"])
    frac = np.linspace(0.0, 1.0, samples)[None, :]
    s = {k: np.clip(sev_start[k][:, None] + (sev_end[k] - sev_start[k])[:, None] * frac, 0, 1) for k in MODES}

    def noise(scale):
        return rng.normal(0.0, 1.0, (m, samples)) * scale

    cpu = np.clip(base["cpu"][:, None] * (1 + 0.5 * s["memory"] + 0.3 * s["host"]) + noise(3.0), 0.5, 100)
    ready_pct = 0.8 + 12 * s["host"] ** 2 + 6 * s["region"] + np.abs(noise(0.4))
    ready_ms = ready_pct / 100.0 * interval * 1000.0 * base["num_cpu"][:, None]
    mem = np.clip(base["mem"][:, None] + (99 - base["mem"][:, None]) * s["memory"] ** 1.5 + noise(1.0), 1, 100)
    pressure = np.clip(s["memory"] - 0.6, 0, None)
    balloon_kb = 1024 * 4000 * pressure * np.abs(1 + noise(0.1))
    swapin = 5000 * np.clip(s["memory"] - 0.75, 0, None) * np.abs(1 + noise(0.2))
    disk = base["disk"][:, None] * (1 + 40 * s["disk"] ** 2 + 2 * s["host"]) * rng.lognormal(0.0, 0.25, (m, samples))
    drops = rng.poisson(base["drops"][:, None] + 300 * s["network"] ** 1.5 + 40 * s["region"]).astype(float)
    return {
        "cpu.usage.average": np.round(cpu * 100),
        "cpu.ready.summation": np.round(ready_ms),
        "mem.usage.average": np.round(mem * 100),
        "mem.vmmemctl.average": np.round(balloon_kb),
        "mem.swapinRate.average": np.round(swapin),
        "disk.maxTotalLatency.latest": np.round(disk),
        "net.droppedRx.summation": drops,
    }


def _event_rates(sev):
    """Poisson rates per step of (vm_warning, vm_error) per VM, host-level and region-level errors."""
    vm_warn = 0.01 + 1.2 * sev["disk"] ** 2 + 0.8 * sev["memory"] ** 2 + 0.8 * sev["network"]
    vm_err = 0.001 + 0.5 * sev["disk"] ** 3 + 0.3 * sev["memory"] ** 3
    return vm_warn, vm_err


class Fleet:
    """A simulated fleet: datacenters > clusters > hosts > VMs, stepped in time."""

    def __init__(self, seed=0, n_vms=2000, datacenters=2, clusters=2, hosts_per_cluster=8, step_minutes=30):
        require("numpy", HAS_NUMPY, NUMPY_IMPORT_ERROR)
        self.rng = np.random.default_rng(seed)
        self.n = n_vms
        self.step_h = step_minutes / 60.0
        n_clusters = datacenters * clusters
        n_hosts = n_clusters * hosts_per_cluster
        self.host_cluster = np.repeat(np.arange(n_clusters), hosts_per_cluster)
        self.cluster_dc = np.repeat(np.arange(datacenters), clusters)
        self.vm_host = self.rng.integers(0, n_hosts, n_vms)
        self.vm_cluster = self.host_cluster[self.vm_host]
        self.vm_dc = self.cluster_dc[self.vm_cluster]
        self.n_hosts, self.n_clusters, self.n_dc = n_hosts, n_clusters, datacenters
        self.base = _baselines(self.rng, n_vms)

    def run(self, days):
        """Simulate `days`; return per-step severities, event counts and failure times (hours)."""
        rng = self.rng
        steps = int(round(days * 24 / self.step_h))
        sizes = {"disk": self.n, "memory": self.n, "network": self.n, "host": self.n_hosts, "region": self.n_dc}
        sev = {k: np.zeros(v) for k, v in sizes.items()}
        ramp = {k: np.ones(v) for k, v in sizes.items()}
        active = {k: np.zeros(v, dtype=bool) for k, v in sizes.items()}
        left = {k: np.zeros(v) for k, v in sizes.items()}  # remaining episode hours
        hist = {k: np.zeros((steps + 1, self.n), dtype=np.float32) for k in MODES}
        ev_names = ("vm_warning", "vm_error", "host_only", "region_only")
        ev = {k: np.zeros((steps, self.n if k.startswith("vm") else (self.n_hosts if k == "host_only" else self.n_dc)),
                          dtype=np.float32) for k in ev_names}
        failures = [[] for vm in range(self.n)]
        for t in range(steps):
            for mode in MODES:
                n = sizes[mode]
                start = ~active[mode] & (rng.random(n) < 1 - np.exp(-ONSET_PER_HOUR[mode] * self.step_h))
                lo, hi = RAMP_HOURS[mode]
                ramp[mode][start] = rng.uniform(lo, hi, start.sum())
                active[mode] |= start
                if mode in EPISODE_HOURS:
                    elo, ehi = EPISODE_HOURS[mode]
                    left[mode][start] = rng.uniform(elo, ehi, start.sum())
                    left[mode][active[mode]] -= self.step_h
                    ending = active[mode] & (left[mode] <= 0)
                    # an episode ramps up, then recovers at the same pace
                    sev[mode][active[mode] & ~ending] += self.step_h / ramp[mode][active[mode] & ~ending]
                    sev[mode][ending] -= self.step_h / ramp[mode][ending]
                    sev[mode] = np.clip(sev[mode], 0, 1)
                    active[mode] &= ~(ending & (sev[mode] <= 0))
                else:
                    sev[mode][active[mode]] += self.step_h / ramp[mode][active[mode]]
                    sev[mode] = np.clip(sev[mode], 0, 1)
                    repaired = active[mode] & (rng.random(n) < 1 - np.exp(-REPAIR_PER_HOUR[mode] * self.step_h))
                    sev[mode][repaired] = 0.0
                    active[mode] &= ~repaired
            vm_sev = self._vm_view(sev)
            for mode in MODES:
                hist[mode][t + 1] = vm_sev[mode]
            warn, err = _event_rates(vm_sev)
            ev["vm_warning"][t] = rng.poisson(warn)
            ev["vm_error"][t] = rng.poisson(err)
            ev["host_only"][t] = rng.poisson(0.002 + 1.5 * sev["host"] ** 2)
            ev["region_only"][t] = rng.poisson(4.0 * sev["region"] ** 2)
            p_fail = 1 - np.exp(-hazard(vm_sev) * self.step_h)
            failed = rng.random(self.n) < p_fail
            for i in np.flatnonzero(failed):
                failures[i].append((t + rng.random()) * self.step_h)
            for mode in ("disk", "memory", "network"):
                sev[mode][failed] = 0.0
                active[mode][failed] = False
        return {"steps": steps, "severity": hist, "events": ev, "failures": failures}

    def _vm_view(self, sev):
        return {"disk": sev["disk"], "memory": sev["memory"], "network": sev["network"],
                "host": sev["host"][self.vm_host], "region": sev["region"][self.vm_dc]}

    def trailing_event_counts(self, ev, step_idx, vm_idx):
        """Event counts over the trailing 24 h for (step, VM) pairs, as telemetry.count_events counts them."""
        w = int(round(EVENT_WINDOW_HOURS / self.step_h))

        def trailing(a):
            cs = np.vstack([np.zeros((1, a.shape[1]), dtype=np.float64), np.cumsum(a, axis=0, dtype=np.float64)])
            return cs[step_idx + 1] - cs[np.maximum(step_idx + 1 - w, 0)]

        vm_err_all = ev["vm_error"]
        steps = vm_err_all.shape[0]
        host_err = ev["host_only"].astype(float)
        cluster_err = np.zeros((steps, self.n_clusters))
        for c in range(self.n_clusters):
            cluster_err[:, c] = host_err[:, self.host_cluster == c].sum(axis=1)
        dc_err = ev["region_only"].astype(float).copy()
        for d in range(self.n_dc):
            dc_err[:, d] += cluster_err[:, self.cluster_dc == d].sum(axis=1)
        return {
            "vm_warning": trailing(ev["vm_warning"])[np.arange(len(vm_idx)), vm_idx],
            "vm_error": trailing(vm_err_all)[np.arange(len(vm_idx)), vm_idx],
            "host_error": trailing(host_err)[np.arange(len(vm_idx)), self.vm_host[vm_idx]],
            "cluster_error": trailing(cluster_err)[np.arange(len(vm_idx)), self.vm_cluster[vm_idx]],
            "datacenter_error": trailing(dc_err)[np.arange(len(vm_idx)), self.vm_dc[vm_idx]],
        }


def bootstrap_set(seed=20261126, n_vms=2000, days=30, windows=120000, horizon_hours=12.0, samples=30,
                  interval=20, step_minutes=30):
    """The bootstrap training set: uniformly sampled (VM, time) windows with labels.

    Returns a dict: X (windows, features), y (0/1), time_h (window end),
    time_to_failure_h (inf if none within the simulated span), vm, and a
    summary for the model manifest.
    """
    fleet = Fleet(seed=seed, n_vms=n_vms, step_minutes=step_minutes)
    sim = fleet.run(days)
    rng = fleet.rng
    steps = sim["steps"]
    # skip the first day, whose trailing event window is not full yet
    first = int(round(EVENT_WINDOW_HOURS / fleet.step_h))
    step_idx = rng.integers(first, steps, windows)
    vm_idx = rng.integers(0, fleet.n, windows)
    order = np.argsort(step_idx, kind="stable")
    step_idx, vm_idx = step_idx[order], vm_idx[order]
    end_h = (step_idx + 1) * fleet.step_h

    window_h = samples * interval / 3600.0
    sev_end = {m: sim["severity"][m][step_idx + 1, vm_idx].astype(float) for m in MODES}
    sev_start = {m: np.clip(sim["severity"][m][step_idx, vm_idx] + (sev_end[m] - sim["severity"][m][step_idx, vm_idx])
                            * (1 - window_h / fleet.step_h), 0, 1) for m in MODES}
    base = {k: v[vm_idx] for k, v in fleet.base.items()}
    raw_samples = window_samples(rng, base, sev_start, sev_end, samples, interval)

    host_sev = sev_end["host"]
    raw = {
        "interval": interval,
        "samples": raw_samples,
        "num_cpu": base["num_cpu"],
        "uptime_seconds": rng.uniform(1, 200, windows) * 86400.0,
        "host_connected": (rng.random(windows) > np.clip(host_sev - 0.9, 0, 1) * 5).astype(float),
        "host_health": np.where(host_sev > 0.7, 2.0, np.where(host_sev > 0.3, 1.0, 0.0)),
        "events": fleet.trailing_event_counts(sim["events"], step_idx, vm_idx),
    }
    X = telemetry.features(raw)[0]

    ttf = np.full(windows, np.inf)
    for j in range(windows):
        for f in sim["failures"][vm_idx[j]]:
            if f > end_h[j]:
                ttf[j] = f - end_h[j]
                break
    y = (ttf <= horizon_hours).astype(int)
    total_failures = sum(len(f) for f in sim["failures"])
    return {
        "X": X, "y": y, "time_h": end_h, "time_to_failure_h": ttf, "vm": vm_idx,
        "summary": {
            "source": "bootstrap (predictive.mirroring fleet.py failure process)",
            "seed": seed, "vms": n_vms, "days": days, "windows": int(windows), "positives": int(y.sum()),
            "failures": int(total_failures), "horizon_hours": horizon_hours, "samples_per_window": samples,
            "interval_seconds": interval,
        },
    }


# Severities of each scenario's rounds, for the demo and the tests.
SCENARIOS = {
    "healthy": {},
    "degrading_disk": {"disk": 1.0},
    "memory_leak": {"memory": 1.0},
    "network_flaps": {"network": 1.0},
    "host_fault": {"host": 1.0},
    "regional_event": {"region": 1.0},
}


def scenario_series(scenario="healthy", severity=0.0, samples=30, interval=20, seed=0, baseline=None):
    """One VM's perf series (ints, vSphere units, oldest first) for a scenario at `severity` (0..1).

    The severity rises over the window to `severity`, as it would while a VM
    degrades. Feed the result to the simulator's control API.
    """
    require("numpy", HAS_NUMPY, NUMPY_IMPORT_ERROR)
    if scenario not in SCENARIOS:
        raise ValueError("unknown scenario %r (one of %s)" % (scenario, ", ".join(sorted(SCENARIOS))))
    if not 0.0 <= severity <= 1.0:
        raise ValueError("severity must be within 0..1, got %r" % severity)
    rng = np.random.default_rng(seed)
    base = baseline or {"cpu": np.array([30.0]), "mem": np.array([45.0]), "disk": np.array([3.0]),
                        "drops": np.array([0.5]), "num_cpu": np.array([2.0])}
    end = {m: np.array([SCENARIOS[scenario].get(m, 0.0) * severity]) for m in MODES}
    start = {m: end[m] * 0.92 for m in MODES}
    out = window_samples(rng, base, start, end, samples, interval)
    return {counter: [int(v) for v in out[counter][0]] for counter in telemetry.COUNTERS}


def scenario_events(scenario="healthy", severity=0.0, seed=0):
    """The signal events a VM shows over the trailing 24 h while `scenario` ramps up to `severity`.

    Returns {"vm": [event type, ...], "host": [event type, ...]}: the same
    Poisson rates as the failure process, summed over a linear ramp.
    """
    require("numpy", HAS_NUMPY, NUMPY_IMPORT_ERROR)
    if scenario not in SCENARIOS:
        raise ValueError("unknown scenario %r (one of %s)" % (scenario, ", ".join(sorted(SCENARIOS))))
    rng = np.random.default_rng(seed)
    steps = int(EVENT_WINDOW_HOURS * 2)  # the process's 30 min steps
    ramp = np.linspace(0.0, severity, steps)
    sev = {m: ramp * SCENARIOS[scenario].get(m, 0.0) for m in MODES}
    warn, err = _event_rates(sev)
    host_err = 0.002 + 1.5 * sev["host"] ** 2
    return {
        "vm": ["GeneralVmWarningEvent"] * int(rng.poisson(warn.sum())) + ["GeneralVmErrorEvent"] * int(rng.poisson(err.sum())),
        "host": ["GeneralHostErrorEvent"] * int(rng.poisson(host_err.sum())),
    }
