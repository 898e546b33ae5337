# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The failure process behind the bootstrap model, the demo scenarios and the evaluation.

One documented generator of fleet telemetry and failures, seeded and
reproducible. It is the single source of truth for:

* the bootstrap training set (bootstrap_set), which the default model is
  trained on,
* the performance series and rollups the demo and the tests push into the
  simulator (scenario_series, scenario_history), and
* the steady-busy fleet of the evaluation (benchmarks/fps_quality.py).

Each VM has its own normal (draw_normals), drawn from wide production ranges:

  CPU usage      1-25 % (60 % of VMs) or 20-90 %, with a daily shape peaking
                 in office hours: the real traces (Bitbrains Rnd: most VMs
                 busy a few %; Alibaba 2018 machines: 20-60 %, daily cycles)
  memory usage   15-90 % of granted (Bitbrains: memory used / provisioned)
  CPU ready      0.2-5 % per vCPU (VMware performance guidance: a few % per
                 vCPU is normal, sustained > 5-10 % is contention)
  disk latency   0.5-20 ms, log-uniform (VMware: device latency under about
                 20 ms is normal on SAN/NFS storage)
  ballooning     none for 65 % of VMs, 32 MB-4 GB for the rest (memory
                 overcommitment: ballooning on a busy host is normal)
  swap-in        none, or up to 30 KB/s for 10 % of VMs
  dropped rx     0-0.5 per 20 s, or 0.5-5 for 30 % of VMs

Alarming but harmless episodes, never failures: a nightly backup window
(40 % of VMs, 1-2 h at the VM's own hour: latency x1.5-3, CPU up), batch
peaks (CPU to 70-95 %, memory up, 2-6 h, about every 4 days), vMotion stuns
(one window: latency x2, ready up) and host maintenance (every VM of a host:
ready and latency up for half an hour while it is evacuated); a few hosts
show yellow health with nothing wrong.

Failures are departures from the VM's own normal, with severities s in
[0, 1] that start at random (Poisson onsets) and ramp up:
    disk     per VM, 4-36 h (failing disk: latency x(1 + 30 s^2), jittery)
    memory   per VM, 6-48 h (leak: usage climbs to 99 %, then balloon/swap)
    network  per VM, episodes of 1-4 h (drops, warnings), then recovers
    host     per host, 2-24 h (hardware fault: health yellow/red, host error
             events, CPU ready + 15 s^2 % per vCPU), shared by its VMs
    region   per datacenter, episodes of 1-8 h (regional event: datacenter
             error events, CPU ready, drops), shared by its VMs
Disk, memory and host faults are also repaired at random while they are
young (s < 0.4: an operator fixes what is caught early), so a degrading VM
does not always fail; past that the component goes on to fail.

Hazard (failures per hour):
    0.0002 + 2 s_disk^3 + 1.5 s_mem^4 + 0.03 s_net^2 + 0.5 s_host^3 + 0.03 s_region^2
The constant part is the unpredictable background (one failure per ~200
days). The host term is the host's own crash rate: when it crashes, every
VM on it fails at once and the host comes back repaired. A failed VM is
rebuilt: its VM-level modes reset.

Events: warning and error events are Poisson with rates that grow with
severity, counted over a trailing 24 h exactly as telemetry.count_events
counts vCenter events. A window's label: a failure of that VM within
`horizon_hours` after the window's end.

Each training window is scored against a baseline learned (baseline.py, the
same code the inventory uses) from the VM's own 30-minute rollups at its
normal (a week; 0.5-7 days for a fifth of the VMs, the newer ones); a quarter of the windows have none (a new VM), and
counters are masked at random - more often on a failing host - so the model
learns what a gap means.
"""

from __future__ import annotations

import warnings

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import REALTIME_INTERVAL
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import TrainingError
from ansible_collections.predictive.mirroring.plugins.module_utils import baseline as baselines
from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry

from ansible_collections.predictive.mirroring.plugins.module_utils.numeric import np, require_numpy


MODES = ("disk", "memory", "network", "host", "region")
BACKGROUND_HAZARD = 0.0002
HAZARD = {"disk": (2.0, 3), "memory": (1.5, 4), "network": (0.03, 2), "host": (0.5, 3), "region": (0.03, 2)}
ONSET_PER_HOUR = {"disk": 1 / (24 * 90.0), "memory": 1 / (24 * 90.0), "network": 1 / (24 * 30.0),
                  "host": 1 / (24 * 120.0), "region": 1 / (24 * 180.0)}
RAMP_HOURS = {"disk": (4, 36), "memory": (6, 48), "network": (0.25, 0.5), "host": (2, 24), "region": (0.5, 2)}
EPISODE_HOURS = {"network": (1, 4), "region": (1, 8)}
REPAIR_PER_HOUR = {"disk": 1 / 48.0, "memory": 1 / 48.0, "host": 1 / 24.0}
REPAIRABLE_BELOW = 0.4  # an operator fixes what is caught early; past this a component goes on to fail
EVENT_WINDOW_HOURS = 24
BATCH_PER_HOUR = 1 / 96.0
BATCH_HOURS = (2, 6)
STUN_PER_WINDOW = 0.01
MAINTENANCE_PER_HOUR = 1 / (24 * 20.0)
NO_BASELINE_SHARE = 0.25
RECENT_SHARE = 0.2  # VMs with less than a week of history
MASK_PER_COUNTER = 0.03
# The standard VM of the scenarios (the demo and the tests): an ordinary, quiet VM.
STANDARD_NORMAL = {"cpu": 30.0, "cpu_amp": 0.0, "cpu_peak": 12.0, "mem": 45.0, "ready": 0.8, "disk": 3.0,
                   "balloon": 0.0, "swapin": 0.0, "drops": 0.5, "num_cpu": 2.0, "backup_hour": -1.0,
                   "backup_mul": 1.0, "backup_hours": 0.0}


def hazard(sev, host=True):
    """Failures per hour of a VM for severities {mode: array}; host=False leaves out its host's crash."""
    h = BACKGROUND_HAZARD
    for mode, (k, p) in HAZARD.items():
        if mode == "host" and not host:
            continue
        h = h + k * np.asarray(sev[mode]) ** p
    return h


def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def draw_normals(rng, n):
    """Each VM's normal, from the documented production ranges (see the module's docstring)."""
    busy = rng.random(n) < 0.4
    cpu = np.where(busy, rng.uniform(20, 90, n), _log_uniform(rng, 1, 25, n))
    ballooned = rng.random(n) < 0.35
    backup = rng.random(n) < 0.4
    return {
        "cpu": cpu,
        "cpu_amp": rng.uniform(0, 0.6, n),
        "cpu_peak": rng.uniform(9, 17, n),
        "mem": rng.uniform(15, 90, n),
        "ready": _log_uniform(rng, 0.2, 5.0, n),
        "disk": _log_uniform(rng, 0.5, 20.0, n),
        "balloon": np.where(ballooned, _log_uniform(rng, 32, 4096, n), 0.0),
        "swapin": np.where(rng.random(n) < 0.1, rng.uniform(0, 30, n), 0.0),
        "drops": np.where(rng.random(n) < 0.3, rng.uniform(0.5, 5, n), rng.uniform(0, 0.5, n)),
        "num_cpu": rng.choice([1, 2, 4, 8, 16], n, p=[0.15, 0.35, 0.3, 0.15, 0.05]).astype(float),
        "backup_hour": np.where(backup, rng.integers(0, 6, n).astype(float), -1.0),
        "backup_mul": rng.uniform(1.5, 3.0, n),
        "backup_hours": rng.uniform(1, 2, n),
    }


def _col(a):
    a = np.asarray(a, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def levels(norm, hour, sev, fx=None):
    """Expected values (feature units, see baseline.UNITS) of every counter.

    norm: normals {key: (m,)}; hour: hour of day (m, T); sev: severities
    {mode: (m, T) or (m,)}; fx: harmless effects {"batch", "stun", "maint"}:
    0/1 arrays (m, T) or (m,). Returns {counter: (m, T)}.
    """
    fx = fx or {}
    hour = np.asarray(hour, dtype=float)
    shape = hour.shape
    s = {k: np.broadcast_to(_col(sev[k]), shape) for k in MODES}
    zero = np.zeros(shape)
    batch, stun, maint = (np.broadcast_to(_col(fx.get(k, zero)), shape) for k in ("batch", "stun", "maint"))
    n = {k: _col(v) for k, v in norm.items()}
    in_backup = (n["backup_hour"] >= 0) & (((hour - n["backup_hour"]) % 24) < n["backup_hours"])
    daily = 1 + n["cpu_amp"] * np.cos(2 * np.pi * (hour - n["cpu_peak"]) / 24.0)
    cpu = n["cpu"] * daily + 10 * in_backup
    cpu = np.where(batch > 0, np.maximum(cpu, 70 + 25 * batch), cpu)
    cpu = np.clip(cpu * (1 + 0.3 * s["memory"] + 0.2 * s["host"]), 0.5, 100)
    mem = np.clip(n["mem"] + 10 * batch, 1, 99)
    mem = np.clip(mem + (99 - mem) * s["memory"] ** 1.5, 1, 100)
    pressure = np.clip((s["memory"] - 0.25) / 0.75, 0, None)
    balloon = n["balloon"] + 4000 * pressure
    swapin = n["swapin"] + 5000 * np.clip(s["memory"] - 0.5, 0, None)
    ready = (n["ready"] * (1 + 0.5 * batch) + 2.5 * stun + 3 * maint + 15 * s["host"] ** 2 + 6 * s["region"])
    disk = n["disk"] * np.where(in_backup, n["backup_mul"], 1) * (1 + stun + 0.8 * maint) * (
        1 + 30 * s["disk"] ** 2 + 2 * s["host"])
    drops = n["drops"] + 1.0 * in_backup + 300 * s["network"] ** 1.5 + 40 * s["region"]
    return {
        "cpu.usage.average": cpu, "cpu.ready.summation": ready, "mem.usage.average": mem,
        "mem.vmmemctl.average": balloon, "mem.swapinRate.average": swapin, "disk.maxTotalLatency.latest": disk,
        "net.droppedRx.summation": drops,
    }


def noisy(rng, lv, jitter=1.0, disk_sev=None):
    """Levels plus measurement and workload noise (feature units); jitter scales it (realtime 1, rollups less)."""
    shape = lv["cpu.usage.average"].shape
    disk_sigma = 0.25 * jitter + (0.5 * _col(disk_sev) if disk_sev is not None else 0.0)
    return {
        "cpu.usage.average": np.clip(lv["cpu.usage.average"] * (1 + rng.normal(0, 0.1 * jitter, shape)), 0, 100),
        "cpu.ready.summation": lv["cpu.ready.summation"] * np.abs(1 + rng.normal(0, 0.25 * jitter, shape)),
        "mem.usage.average": np.clip(lv["mem.usage.average"] + rng.normal(0, 1.0 * jitter, shape), 0, 100),
        "mem.vmmemctl.average": lv["mem.vmmemctl.average"] * np.abs(1 + rng.normal(0, 0.05 * jitter, shape)),
        "mem.swapinRate.average": lv["mem.swapinRate.average"] * np.abs(1 + rng.normal(0, 0.3 * jitter, shape)),
        "disk.maxTotalLatency.latest": lv["disk.maxTotalLatency.latest"] * rng.lognormal(0.0, 1.0, shape) ** disk_sigma,
        "net.droppedRx.summation": rng.poisson(np.maximum(lv["net.droppedRx.summation"], 0)).astype(float),
    }


def to_vsphere(values, interval, num_cpu):
    """Feature units -> the values vCenter reports at `interval` (integers, as floats)."""
    nc = _col(num_cpu)
    return {
        "cpu.usage.average": np.round(values["cpu.usage.average"] * 100),
        "cpu.ready.summation": np.round(values["cpu.ready.summation"] / 100.0 * interval * 1000.0 * nc),
        "mem.usage.average": np.round(values["mem.usage.average"] * 100),
        "mem.vmmemctl.average": np.round(values["mem.vmmemctl.average"] * 1024),
        "mem.swapinRate.average": np.round(values["mem.swapinRate.average"]),
        "disk.maxTotalLatency.latest": np.round(values["disk.maxTotalLatency.latest"]),
        "net.droppedRx.summation": np.round(values["net.droppedRx.summation"] * interval / REALTIME_INTERVAL),
    }


def window_samples(rng, norm, sev_start, sev_end, samples, interval, hour, fx=None):
    """Realtime perf samples (vSphere units) for windows where severities move from sev_start to sev_end.

    norm: normals of m VMs; hour: (m,) hour of day at the window's end.
    Returns {counter: float array (m, samples)}.
    """
    frac = np.linspace(0.0, 1.0, samples)[None, :]
    s = {k: np.clip(_col(sev_start[k]) + _col(sev_end[k] - sev_start[k]) * frac, 0, 1) for k in MODES}
    hours = _col(hour) - (samples - 1 - np.arange(samples))[None, :] * interval / 3600.0
    lv = levels(norm, hours, s, fx)
    # the workload's own slow wander over the window, then per-sample noise
    wander = {k: v * np.abs(1 + rng.normal(0, 0.08, (v.shape[0], 1))) for k, v in lv.items()}
    return to_vsphere(noisy(rng, wander, 1.0, s["disk"]), interval, norm["num_cpu"])


def history(rng, norm, days, interval, end_hour=0.0, batch_share=0.04):
    """A healthy VM's rollups (feature units) over the last `days`: {counter: (m, T)} and the hours (T,).

    The daily shape, backup windows and batch peaks are in it, failures are
    not: it is what baselines are learned from.
    """
    t = int(round(days * 86400 / interval))
    hours = (end_hour - (t - 1 - np.arange(t)) * interval / 3600.0) % 24
    m = len(norm["cpu"])
    hh = np.broadcast_to(hours[None, :], (m, t))
    zero = np.zeros((m, t))
    batch = (rng.random((m, t)) < batch_share).astype(float)
    lv = levels(norm, hh, {k: zero for k in MODES}, {"batch": batch})
    return noisy(rng, lv, 0.6), hours


def learn_baselines(rng, norm, days, end_hour=0.0, interval=1800):
    """Baselines (baseline.learn_one) of m VMs from `days` (m,) of their healthy rollups; None where days is 0.

    Returns {counter: {"hourly": (m, 24) centre by hour, "spread": (m,)}}, NaN where unknown.
    """
    m = len(norm["cpu"])
    longest = float(np.max(days)) if m else 0.0
    out = {c: {"hourly": np.full((m, 24), np.nan), "spread": np.full(m, np.nan)} for c in baselines.COUNTERS}
    if longest <= 0:
        return out
    series, hours = history(rng, norm, longest, interval, end_hour)
    t = len(hours)
    for i in range(m):
        if days[i] <= 0:
            continue
        k = max(int(round(days[i] * 86400 / interval)), 1)
        for c in baselines.COUNTERS:
            b = baselines.learn_one(series[c][i, t - k:], hours[t - k:].astype(int), days[i])
            if b is None:
                continue
            hourly = np.array([b["centre"] if x is None else x for x in (b["hourly"] or [None] * 24)])
            out[c]["hourly"][i] = hourly
            out[c]["spread"][i] = b["spread"]
    return out


def event_rates(sev):
    """Poisson rates per step of (vm_warning, vm_error) per VM, host-level and region-level errors."""
    vm_warn = 0.01 + 1.2 * sev["disk"] ** 2 + 0.8 * sev["memory"] ** 2 + 0.8 * sev["network"]
    vm_err = 0.001 + 0.5 * sev["disk"] ** 3 + 0.3 * sev["memory"] ** 3
    return vm_warn, vm_err


class Fleet:
    """A simulated fleet: datacenters > clusters > hosts > VMs, stepped in time."""

    def __init__(self, seed=0, n_vms=2000, datacenters=2, clusters=2, hosts_per_cluster=8, step_minutes=30):
        require_numpy()
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
        self.norm = draw_normals(self.rng, n_vms)
        # a few hosts show yellow health with nothing wrong (a sensor, a log partition)
        self.host_yellow = self.rng.random(n_hosts) < 0.03

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
        batch = np.zeros((steps + 1, self.n), dtype=np.float32)
        maint = np.zeros((steps + 1, self.n_hosts), dtype=np.float32)
        batch_left = np.zeros(self.n)
        for t in range(steps):
            begin = (batch_left <= 0) & (rng.random(self.n) < 1 - np.exp(-BATCH_PER_HOUR * self.step_h))
            batch_left[begin] = rng.uniform(*BATCH_HOURS, begin.sum())
            batch[t + 1] = batch_left > 0
            batch_left -= self.step_h
            maint[t + 1] = rng.random(self.n_hosts) < 1 - np.exp(-MAINTENANCE_PER_HOUR * self.step_h)
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
                    repaired = active[mode] & (sev[mode] < REPAIRABLE_BELOW) & (
                        rng.random(n) < 1 - np.exp(-REPAIR_PER_HOUR[mode] * self.step_h))
                    sev[mode][repaired] = 0.0
                    active[mode] &= ~repaired
            vm_sev = self._vm_view(sev)
            warn, err = event_rates(vm_sev)
            ev["vm_warning"][t] = rng.poisson(warn)
            ev["vm_error"][t] = rng.poisson(err)
            ev["host_only"][t] = rng.poisson(0.002 + 1.5 * sev["host"] ** 2)
            ev["region_only"][t] = rng.poisson(4.0 * sev["region"] ** 2)
            p_fail = 1 - np.exp(-hazard(vm_sev, host=False) * self.step_h)
            failed = rng.random(self.n) < p_fail
            when = (t + rng.random(self.n)) * self.step_h
            # a host fault ends in the host's crash: every VM on it fails at that moment (HA restarts them
            # elsewhere), and the host comes back repaired
            k, p = HAZARD["host"]
            host_down = rng.random(self.n_hosts) < 1 - np.exp(-k * sev["host"] ** p * self.step_h)
            host_when = (t + rng.random(self.n_hosts)) * self.step_h
            on_down = host_down[self.vm_host]
            when = np.where(on_down & ~failed, host_when[self.vm_host], np.where(on_down, np.minimum(
                when, host_when[self.vm_host]), when))
            failed |= on_down
            for i in np.flatnonzero(failed):
                failures[i].append(float(when[i]))
            for mode in ("disk", "memory", "network"):
                sev[mode][failed] = 0.0
                active[mode][failed] = False
            sev["host"][host_down] = 0.0
            active["host"][host_down] = False
            # the state at the step's end: a VM that failed within the step was restarted, its fault repaired - a
            # window ending after its failure shows no symptom of it (and its label looks at the next failure)
            after = self._vm_view(sev)
            for mode in MODES:
                hist[mode][t + 1] = after[mode]
        return {"steps": steps, "severity": hist, "events": ev, "failures": failures, "batch": batch, "maint": maint}

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


def fleet_windows(fleet, sim, step_idx, vm_idx, samples=30, interval=20, no_baseline_share=NO_BASELINE_SHARE,
                  mask_per_counter=MASK_PER_COUNTER, peers=6):
    """The raw telemetry (telemetry.features' input) of (step, VM) windows of a simulated fleet.

    Each VM's baseline is learned from 0.5-7 days of its healthy rollups; a
    share of windows has none; counters are masked at random, more often on
    a failing host (a host that stops answering takes its counters with it).
    Peers: `peers` other VMs of the same host, their window means judged
    against their own baselines, as the inventory does.
    """
    rng = fleet.rng
    w = len(vm_idx)
    window_h = samples * interval / 3600.0
    sev_end = {m: sim["severity"][m][step_idx + 1, vm_idx].astype(float) for m in MODES}
    sev_start = {m: np.clip(sim["severity"][m][step_idx, vm_idx] + (sev_end[m] - sim["severity"][m][step_idx, vm_idx])
                            * (1 - window_h / fleet.step_h), 0, 1) for m in MODES}
    end_h = (step_idx + 1) * fleet.step_h
    hour = end_h % 24
    fx = {"batch": sim["batch"][step_idx + 1, vm_idx].astype(float),
          "stun": (rng.random(w) < STUN_PER_WINDOW).astype(float),
          "maint": sim["maint"][step_idx + 1, fleet.vm_host[vm_idx]].astype(float)}
    norm = {k: v[vm_idx] for k, v in fleet.norm.items()}
    raw_samples = window_samples(rng, norm, sev_start, sev_end, samples, interval, hour, fx)

    # baselines: per VM once (its history length drawn per VM), None for "new" windows
    if not hasattr(fleet, "baselines"):
        # most VMs have the week of 30-minute rollups vCenter keeps; the newer ones less
        days = np.where(rng.random(fleet.n) < RECENT_SHARE, rng.uniform(0.5, 7.0, fleet.n), 7.0)
        fleet.baselines = learn_baselines(rng, fleet.norm, days)
        fleet.baseline_days = days
    hour_i = hour.astype(int) % 24
    has = rng.random(w) >= no_baseline_share
    centre, spread = {}, {}
    for c in baselines.COUNTERS:
        centre[c] = np.where(has, fleet.baselines[c]["hourly"][vm_idx, hour_i], np.nan)
        spread[c] = np.where(has, baselines.floored_spread(c, fleet.baselines[c]["spread"][vm_idx], centre[c]), np.nan)
    days = np.where(has, fleet.baseline_days[vm_idx], 0.0)

    # peers: other VMs of the same host at the same time, their window means against their own baselines
    peer_dev = {}
    host = fleet.vm_host[vm_idx]
    members = [np.flatnonzero(fleet.vm_host == h) for h in range(fleet.n_hosts)]
    pick = np.full((w, peers), -1)
    for j in range(w):
        others = members[host[j]][members[host[j]] != vm_idx[j]]
        if len(others):
            pick[j] = rng.choice(others, peers, replace=len(others) < peers)
    valid = pick >= 0
    pidx = np.where(valid, pick, 0).ravel()
    psteps = np.repeat(step_idx + 1, peers)
    psev = {m: sim["severity"][m][psteps, pidx].astype(float) for m in MODES}
    pnorm = {k: v[pidx] for k, v in fleet.norm.items()}
    pfx = {"batch": sim["batch"][psteps, pidx].astype(float), "maint": sim["maint"][psteps, fleet.vm_host[pidx]].astype(float)}
    plv = levels(pnorm, np.repeat(hour, peers)[:, None], psev, {k: v[:, None] for k, v in pfx.items()})
    pmean = noisy(rng, {k: v * np.abs(1 + rng.normal(0, 0.08, v.shape)) for k, v in plv.items()}, 0.2)
    phour = np.repeat(hour_i, peers)
    for feature, counter in (("disk_latency_dev", "disk.maxTotalLatency.latest"), ("cpu_ready_dev", "cpu.ready.summation")):
        c0 = fleet.baselines[counter]["hourly"][pidx, phour]
        sp = baselines.floored_spread(counter, fleet.baselines[counter]["spread"][pidx], c0)
        dev = baselines.deviation(pmean[counter][:, 0], c0, sp).reshape(w, peers)
        dev[~valid] = np.nan
        peer_dev[feature] = dev
    lonely = rng.random(w) < 0.1  # hosts whose other VMs are too new to have baselines
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: no peer known, NaN is the answer
        peer_values = {f: np.where(lonely, np.nan, np.nanmedian(v, axis=1)) for f, v in peer_dev.items()}

    # gaps: counters masked at random, more often on a failing host
    p_mask = mask_per_counter + 0.3 * sev_end["host"] ** 2
    for c in telemetry.COUNTERS:
        masked = rng.random(w) < p_mask
        raw_samples[c] = np.where(masked[:, None], np.nan, raw_samples[c])

    host_sev = sev_end["host"]
    health = np.where(host_sev > 0.7, 2.0, np.where(host_sev > 0.3, 1.0, 0.0))
    health = np.maximum(health, fleet.host_yellow[host].astype(float))
    return telemetry.raw(interval, raw_samples, num_cpu=norm["num_cpu"], uptime_seconds=rng.uniform(1, 200, w) * 86400.0,
                         host_connected=(rng.random(w) > np.clip(host_sev - 0.9, 0, 1) * 5).astype(float),
                         host_health=health, events=fleet.trailing_event_counts(sim["events"], step_idx, vm_idx),
                         baseline={"centre": centre, "spread": spread, "days": days}, peer_values=peer_values)


def bootstrap_set(seed=20261128, n_vms=2000, days=30, windows=120000, horizon_hours=12.0, samples=30,
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
    raw = fleet_windows(fleet, sim, step_idx, vm_idx, samples, interval)
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
            "interval_seconds": interval, "no_baseline_share": NO_BASELINE_SHARE,
            "mask_per_counter": MASK_PER_COUNTER,
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


def _normal_of(normal):
    unknown = set(normal or {}) - set(STANDARD_NORMAL)
    if unknown:
        raise TrainingError("unknown normal keys %s (known: %s)" % (", ".join(sorted(unknown)), ", ".join(sorted(STANDARD_NORMAL))))
    return {k: np.array([float(v)]) for k, v in dict(STANDARD_NORMAL, **(normal or {})).items()}


def scenario_series(scenario="healthy", severity=0.0, samples=30, interval=20, seed=0, normal=None, hour=12.0):
    """One VM's realtime perf series (ints, vSphere units, oldest first) for a scenario at `severity` (0..1).

    The severity rises over the window to `severity`, as it would while a VM
    degrades, on top of the VM's `normal` (STANDARD_NORMAL's keys; the
    standard quiet VM by default). Feed the result to the simulator's control API.
    """
    require_numpy()
    if scenario not in SCENARIOS:
        raise TrainingError("unknown scenario %r (one of %s)" % (scenario, ", ".join(sorted(SCENARIOS))))
    if not 0.0 <= severity <= 1.0:
        raise TrainingError("severity must be within 0..1, got %r" % severity)
    rng = np.random.default_rng(seed)
    norm = _normal_of(normal)
    end = {m: np.array([SCENARIOS[scenario].get(m, 0.0) * severity]) for m in MODES}
    start = {m: end[m] * 0.92 for m in MODES}
    out = window_samples(rng, norm, start, end, samples, interval, np.array([float(hour)]))
    return {counter: [int(v) for v in out[counter][0]] for counter in telemetry.COUNTERS}


def scenario_history(normal=None, interval=300, days=None, seed=0, end_hour=0.0):
    """A healthy VM's historical rollup at `interval` (ints, vSphere units, oldest first): what its baseline is
    learned from. days defaults to what vCenter keeps at that interval (a day at 300 s, a week at 1800 s)."""
    require_numpy()
    keep = {300: 1.0, 1800: 7.0, 7200: 30.0, 86400: 365.0}
    if interval not in keep:
        raise TrainingError("interval %r: want a historical rollup, one of %s" % (interval, ", ".join(map(str, sorted(keep)))))
    rng = np.random.default_rng(seed)
    norm = _normal_of(normal)
    series, _hours = history(rng, norm, days or keep[interval], interval, end_hour, batch_share=0.0)
    out = to_vsphere(series, interval, norm["num_cpu"])
    return {counter: [int(v) for v in out[counter][0]] for counter in telemetry.COUNTERS}


def scenario_events(scenario="healthy", severity=0.0, seed=0):
    """The signal events a VM shows over the trailing 24 h while `scenario` ramps up to `severity`.

    Returns {"vm": [event type, ...], "host": [event type, ...]}: the same
    Poisson rates as the failure process, summed over a linear ramp.
    """
    require_numpy()
    if scenario not in SCENARIOS:
        raise TrainingError("unknown scenario %r (one of %s)" % (scenario, ", ".join(sorted(SCENARIOS))))
    rng = np.random.default_rng(seed)
    steps = int(EVENT_WINDOW_HOURS * 2)  # the process's 30 min steps
    ramp = np.linspace(0.0, severity, steps)
    sev = {m: ramp * SCENARIOS[scenario].get(m, 0.0) for m in MODES}
    warn, err = event_rates(sev)
    host_err = 0.002 + 1.5 * sev["host"] ** 2
    return {
        "vm": ["GeneralVmWarningEvent"] * int(rng.poisson(warn.sum())) + ["GeneralVmErrorEvent"] * int(rng.poisson(err.sum())),
        "host": ["GeneralHostErrorEvent"] * int(rng.poisson(host_err.sum())),
    }
