# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Raw vSphere samples and events -> the model's feature matrix.

The feature order is fixed (FEATURE_NAMES) and recorded in every model's
manifest. Work is vectorised over the whole fleet: one row per VM.

Raw input (a plain dict, the same whether it comes from vCenter or from the
failure process in fleet.py):
    interval        seconds between samples (20 for realtime stats)
    samples         {counter name: float array (n_vms, T)}, vSphere units,
                    NaN where a sample is missing (series left-padded)
    num_cpu         (n,) vCPUs
    uptime_seconds  (n,) NaN when unknown
    host_connected  (n,) 1 connected, 0 not responding/disconnected
    host_health     (n,) 0 green/gray, 1 yellow, 2 red
    events          {"vm_error", "vm_warning", "host_error", "cluster_error",
                     "datacenter_error"}: (n,) counts in the event window
    baseline        optional, each VM's normal at the window's hour of day
                    (baseline.centre_spread): {"centre": {counter: (n,)},
                    "spread": {counter: (n,)}, "days": (n,)}, feature units,
                    NaN where a VM has none
    peer_group      optional (n,) ids (the ESXi host): a VM's peers are the
                    other VMs with the same id

Deviations from the VM's normal are in robust units (see baseline.py); a VM
without a baseline gets 0 there and baseline_days 0, so the model leans on
absolute values, trend, variance and events, and its confidence says so.
Peer features are the median deviation of the VM's host peers: a shift every
VM on a host shares is the host's, not the VM's.
"""

from __future__ import annotations

import datetime

from ansible_collections.predictive.mirroring.plugins.module_utils import baseline as baselines
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ALARM_CORROBORATED_FPS, ALARM_FULL_ABOVE, ALARM_LINES, ALARM_PEER_SHARED_SIGMA, ALARM_UNCORROBORATED_MAX, REALTIME_INTERVAL)
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

from ansible_collections.predictive.mirroring.plugins.module_utils.numeric import np, require_numpy


# The perf counters read per VM, in vSphere's "group.name.rollup" form.
COUNTERS = (
    "cpu.usage.average",            # hundredths of a percent
    "cpu.ready.summation",          # ms of ready time per interval, all vCPUs
    "mem.usage.average",            # hundredths of a percent
    "mem.vmmemctl.average",         # KB ballooned
    "mem.swapinRate.average",       # KB/s
    "disk.maxTotalLatency.latest",  # ms
    "net.droppedRx.summation",      # packets dropped per interval
)

FEATURE_NAMES = (
    "cpu_usage_pct_mean",
    "cpu_usage_pct_p95",
    "cpu_ready_pct_mean",
    "mem_usage_pct_mean",
    "mem_usage_pct_slope_per_h",
    "mem_balloon_mb_mean",
    "mem_swapin_kbps_mean",
    "disk_latency_ms_mean",
    "disk_latency_ms_p95",
    "disk_latency_ms_slope_per_h",
    "net_dropped_per_interval_mean",
    "uptime_days",
    "host_not_connected",
    "host_health",
    "vm_error_events",
    "vm_warning_events",
    "host_error_events",
    "cluster_error_events",
    "datacenter_error_events",
    "missing_counters",
    # relative to the VM's own normal (baseline.py), in robust units
    "cpu_usage_dev",
    "cpu_ready_dev",
    "mem_usage_dev",
    "mem_balloon_dev",
    "mem_swapin_dev",
    "disk_latency_dev",
    "net_dropped_dev",
    "disk_latency_spread_ratio",
    "baseline_days",
    # relative to the VM's host peers: the median deviation of the other VMs on its host
    "host_peers_disk_latency_dev",
    "host_peers_cpu_ready_dev",
    # the window's disk latency as a multiple of the VM's normal: a failing path or device multiplies it, and 3 ms is
    # six times the normal of a VM on flash though only 2.5 ms (2.5 floored spreads) above it
    "disk_latency_ratio",
)
# the smallest normal a latency ratio is taken against (ms): below it a multiple means nothing to an operator either
RATIO_FLOOR_MS = 0.5

# deviation feature -> (counter, window statistic it compares with the normal)
DEVIATIONS = {
    "cpu_usage_dev": "cpu.usage.average",
    "cpu_ready_dev": "cpu.ready.summation",
    "mem_usage_dev": "mem.usage.average",
    "mem_balloon_dev": "mem.vmmemctl.average",
    "mem_swapin_dev": "mem.swapinRate.average",
    "disk_latency_dev": "disk.maxTotalLatency.latest",
    "net_dropped_dev": "net.droppedRx.summation",
}
# The symptoms a host's VMs can share, one row each: (its words, the absolute value, the VM's deviation from its own
# normal, the host-peer feature: the median deviation of the other VMs on its host). A shared shift is the host's.
HOST_PEER_SYMPTOMS = [
    ("disk latency", "disk_latency_ms_mean", "disk_latency_dev", "host_peers_disk_latency_dev"),
    ("CPU ready", "cpu_ready_pct_mean", "cpu_ready_dev", "host_peers_cpu_ready_dev"),
]
PEER_FEATURES = {peer: dev for _words, _absolute, dev, peer in HOST_PEER_SYMPTOMS}
MIN_PEERS = 2

# Values a missing measurement is imputed with: those of a quiet, healthy VM,
# so that a gap never looks like a symptom. The gap itself is counted in
# missing_counters and reported per VM.
IMPUTE = {
    "cpu_usage_pct_mean": 20.0,
    "cpu_usage_pct_p95": 30.0,
    "cpu_ready_pct_mean": 1.0,
    "mem_usage_pct_mean": 40.0,
    "mem_usage_pct_slope_per_h": 0.0,
    "mem_balloon_mb_mean": 0.0,
    "mem_swapin_kbps_mean": 0.0,
    "disk_latency_ms_mean": 3.0,
    "disk_latency_ms_p95": 5.0,
    "disk_latency_ms_slope_per_h": 0.0,
    "net_dropped_per_interval_mean": 0.0,
    "uptime_days": 30.0,
    # no baseline: no deviation is known
    "cpu_usage_dev": 0.0,
    "cpu_ready_dev": 0.0,
    "mem_usage_dev": 0.0,
    "mem_balloon_dev": 0.0,
    "mem_swapin_dev": 0.0,
    "disk_latency_dev": 0.0,
    "net_dropped_dev": 0.0,
    "disk_latency_spread_ratio": 1.0,
    "host_peers_disk_latency_dev": 0.0,
    "host_peers_cpu_ready_dev": 0.0,
    "disk_latency_ratio": 1.0,
}

# Event types counted as component, network or regional signals. vCenter's
# own EventManager description gives a category per type, but not every
# vCenter fills it in, so the signal types are named here.
ERROR_EVENTS = frozenset((
    "GeneralHostErrorEvent", "GeneralVmErrorEvent", "HostConnectionLostEvent", "HostCnxFailedNetworkErrorEvent",
    "HostCnxFailedTimeoutEvent", "VmFailedToPowerOnEvent", "VmDasBeingResetEvent", "VmDasResetFailedEvent",
    "VmMessageErrorEvent", "VmDiskFailedEvent", "DatastoreDestroyedEvent", "VmFailoverFailed",
    "HostIsolationIpPingFailedEvent", "DasHostFailedEvent", "VmFaultToleranceVmTerminatedEvent",
    "NotEnoughResourcesToStartVmEvent", "VmNoNetworkAccessEvent",
))
WARNING_EVENTS = frozenset((
    "GeneralHostWarningEvent", "GeneralVmWarningEvent", "VmMessageWarningEvent", "HostSyncFailedEvent",
    "VmGuestRebootEvent", "VmRelayoutUpToDateEvent", "DasHostIsolatedEvent", "HostShortNameInconsistentEvent",
    "VmRemoteConsoleDisconnectedEvent", "VmDasUpdateErrorEvent", "NetworkRollbackEvent",
))
SIGNAL_EVENTS = ERROR_EVENTS | WARNING_EVENTS
EVENT_KEYS = ("vm_error", "vm_warning", "host_error", "cluster_error", "datacenter_error")

HEALTH = {"green": 0, "gray": 0, "": 0, "yellow": 1, "red": 2}


def _nan_slope_per_hour(y, interval):
    """Least-squares slope of each row of y (NaN ignored), in units per hour."""
    t = np.arange(y.shape[1], dtype=float) * (interval / 3600.0)
    w = ~np.isnan(y)
    cnt = w.sum(axis=1)
    yz = np.where(w, y, 0.0)
    tw = np.where(w, t, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        tm = tw.sum(axis=1) / cnt
        ym = yz.sum(axis=1) / cnt
        dt = np.where(w, t - tm[:, None], 0.0)
        num = (dt * (yz - ym[:, None])).sum(axis=1)
        den = (dt * dt).sum(axis=1)
        slope = num / den
    slope[(cnt < 3) | ~np.isfinite(slope)] = np.nan
    return slope


def _nanmean(a):
    w = ~np.isnan(a)
    cnt = w.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, np.where(w, a, 0.0).sum(axis=1) / cnt, np.nan)


def _nanstd(a):
    w = ~np.isnan(a)
    cnt = w.sum(axis=1)
    m = _nanmean(a)
    with np.errstate(invalid="ignore", divide="ignore"):
        var = np.where(w, (a - m[:, None]) ** 2, 0.0).sum(axis=1) / cnt
    return np.where(cnt >= 3, np.sqrt(var), np.nan)


def peer_median(values, group, min_peers=MIN_PEERS):
    """Per VM, the median of `values` over the other VMs of its group (NaN with fewer than min_peers known)."""
    n = len(values)
    out = np.full(n, np.nan)
    if group is None:
        return out
    members = {}
    for i, g in enumerate(group):
        if g is not None and g != "" and not (isinstance(g, (int, np.integer)) and g < 0):
            members.setdefault(g, []).append(i)
    values = np.asarray(values, dtype=float)
    for idx in members.values():
        idx = np.asarray(idx)
        if len(idx) <= min_peers:
            continue
        v = values[idx]
        for k, i in enumerate(idx):
            others = np.delete(v, k)
            others = others[np.isfinite(others)]
            if len(others) >= min_peers:
                out[i] = np.median(others)
    return out


def _nanp95(a):
    out = np.full(a.shape[0], np.nan)
    ok = (~np.isnan(a)).any(axis=1)
    if ok.any():
        out[ok] = np.nanpercentile(a[ok], 95, axis=1)
    return out


def features(raw):
    """Feature matrix (n, len(FEATURE_NAMES)) and, per VM, the counters that were imputed."""
    require_numpy()
    n = len(raw["num_cpu"])
    interval = float(raw.get("interval") or 20)
    samples = raw.get("samples") or {}

    def series(counter):
        a = samples.get(counter)
        if a is None:
            return np.full((n, 1), np.nan)
        return np.asarray(a, dtype=float).reshape(n, -1)

    cpu = series("cpu.usage.average") / 100.0
    ready = series("cpu.ready.summation")
    mem = series("mem.usage.average") / 100.0
    balloon = series("mem.vmmemctl.average") / 1024.0
    swapin = series("mem.swapinRate.average")
    disk = series("disk.maxTotalLatency.latest")
    drops = series("net.droppedRx.summation")
    num_cpu = np.maximum(np.asarray(raw["num_cpu"], dtype=float), 1.0)

    cols = {
        "cpu_usage_pct_mean": _nanmean(cpu),
        "cpu_usage_pct_p95": _nanp95(cpu),
        # ready ms per interval summed over vCPUs -> percent of one vCPU's time
        "cpu_ready_pct_mean": _nanmean(ready) / (interval * 1000.0) * 100.0 / num_cpu,
        "mem_usage_pct_mean": _nanmean(mem),
        "mem_usage_pct_slope_per_h": _nan_slope_per_hour(mem, interval),
        "mem_balloon_mb_mean": _nanmean(balloon),
        "mem_swapin_kbps_mean": _nanmean(swapin),
        "disk_latency_ms_mean": _nanmean(disk),
        "disk_latency_ms_p95": _nanp95(disk),
        "disk_latency_ms_slope_per_h": _nan_slope_per_hour(disk, interval),
        "net_dropped_per_interval_mean": _nanmean(drops),
        "uptime_days": np.asarray(raw.get("uptime_seconds", np.full(n, np.nan)), dtype=float) / 86400.0,
    }
    base = raw.get("baseline") or {}
    centre, spread = base.get("centre") or {}, base.get("spread") or {}
    unit_value = {
        "cpu.usage.average": cols["cpu_usage_pct_mean"], "cpu.ready.summation": cols["cpu_ready_pct_mean"],
        "mem.usage.average": cols["mem_usage_pct_mean"], "mem.vmmemctl.average": cols["mem_balloon_mb_mean"],
        "mem.swapinRate.average": cols["mem_swapin_kbps_mean"], "disk.maxTotalLatency.latest": cols["disk_latency_ms_mean"],
        "net.droppedRx.summation": _nanmean(drops) * (REALTIME_INTERVAL / interval),
    }
    nan = np.full(n, np.nan)
    for name, counter in DEVIATIONS.items():
        cols[name] = baselines.deviation(unit_value[counter], np.asarray(centre.get(counter, nan), dtype=float),
                                         np.asarray(spread.get(counter, nan), dtype=float))
    with np.errstate(invalid="ignore", divide="ignore"):
        cols["disk_latency_spread_ratio"] = np.clip(
            _nanstd(disk) / np.asarray(spread.get("disk.maxTotalLatency.latest", nan), dtype=float), 0, 50)
        cols["disk_latency_ratio"] = np.clip(cols["disk_latency_ms_mean"] / np.maximum(
            np.asarray(centre.get("disk.maxTotalLatency.latest", nan), dtype=float), RATIO_FLOOR_MS), 0, 100)
    cols["baseline_days"] = np.asarray(base.get("days", np.zeros(n)), dtype=float)
    group = raw.get("peer_group")
    given = raw.get("peer_values") or {}
    for name, dev in PEER_FEATURES.items():
        cols[name] = (np.asarray(given[dev], dtype=float) if dev in given else peer_median(cols[dev], group))
    # A counter is missing for a VM when it gave no sample at all in the window.
    missing_counter = {}
    for counter in COUNTERS:
        missing_counter[counter] = np.isnan(series(counter)).all(axis=1)
    missing_uptime = np.isnan(cols["uptime_days"])

    for name, default in IMPUTE.items():
        col = cols[name]
        bad = ~np.isfinite(col)
        if bad.any():
            col[bad] = default

    events = raw.get("events") or {}
    zeros = np.zeros(n)
    missing_count = np.sum([missing_counter[c] for c in COUNTERS], axis=0) + missing_uptime
    cols.update({
        "host_not_connected": 1.0 - np.asarray(raw.get("host_connected", np.ones(n)), dtype=float),
        "host_health": np.asarray(raw.get("host_health", zeros), dtype=float),
        "vm_error_events": np.asarray(events.get("vm_error", zeros), dtype=float),
        "vm_warning_events": np.asarray(events.get("vm_warning", zeros), dtype=float),
        "host_error_events": np.asarray(events.get("host_error", zeros), dtype=float),
        "cluster_error_events": np.asarray(events.get("cluster_error", zeros), dtype=float),
        "datacenter_error_events": np.asarray(events.get("datacenter_error", zeros), dtype=float),
        "missing_counters": missing_count.astype(float),
    })
    X = np.column_stack([cols[name] for name in FEATURE_NAMES])
    missing = [[c for c in COUNTERS if missing_counter[c][i]] + (["uptime"] if missing_uptime[i] else [])
               for i in range(n)]
    return X, missing


def coverage(raw):
    """Per VM, the share (0-1) of the window's expected samples that arrived, averaged over COUNTERS.

    1.0 is a complete window; a counter that gave nothing counts 0. It is the
    FPS's confidence: a score computed from imputed values says little.
    """
    require_numpy()
    n = len(raw["num_cpu"])
    samples = raw.get("samples") or {}
    shares = []
    for counter in COUNTERS:
        a = samples.get(counter)
        if a is None:
            shares.append(np.zeros(n))
            continue
        a = np.asarray(a, dtype=float).reshape(n, -1)
        shares.append(np.isfinite(a).mean(axis=1))
    return np.mean(shares, axis=0)


def gap_reasons(missing, confidence, min_confidence):
    """Why a VM's telemetry is too thin to act on (None when it is not): the counters that gave nothing, and how
    much of the window arrived."""
    why = []
    counters = [c for c in missing if c != "uptime"]
    if counters:
        why.append("no samples for %s" % ", ".join(counters))
    if confidence < min_confidence:
        why.append("%.0f%% of the window's samples arrived (below %.0f%%)" % (100.0 * confidence, 100.0 * min_confidence))
    return "; ".join(why) or None


def pad_series(rows, length):
    """Ragged per-VM value lists -> (n, length) float array, newest last, NaN-padded on the left."""
    require_numpy()
    out = np.full((len(rows), length), np.nan)
    for i, values in enumerate(rows):
        if values:
            v = np.asarray(values[-length:], dtype=float)
            # vCenter reports -1 for a sample it does not have
            v[v < 0] = np.nan
            out[i, length - len(v):] = v
    return out


def count_events(records, vms, since):
    """Count signal events since `since` per VM, its host, cluster and datacenter.

    VM events count for the VM only. Host, cluster and datacenter counts are
    of events raised on those entities themselves (no VM argument): a host
    error also counts for its cluster and datacenter, a regional event for
    its datacenter. That keeps the counts independent of how many VMs share
    a host or cluster.
    """
    require_numpy()
    by = {k: {} for k in EVENT_KEYS}

    def bump(key, moid):
        if moid:
            by[key][moid] = by[key].get(moid, 0) + 1

    for r in records:
        if r["created"] < since or r["type"] not in SIGNAL_EVENTS:
            continue
        error = r["type"] in ERROR_EVENTS
        if r.get("vm"):
            bump("vm_error" if error else "vm_warning", r["vm"])
        elif error:
            bump("host_error", r.get("host"))
            bump("cluster_error", r.get("cluster"))
            bump("datacenter_error", r.get("datacenter"))
    ent_of = {"vm_error": "moid", "vm_warning": "moid", "host_error": "host_moid", "cluster_error": "cluster_moid",
              "datacenter_error": "datacenter_moid"}
    return {key: np.array([by[key].get(vm.get(ent_of[key]), 0) for vm in vms], dtype=float) for key in EVENT_KEYS}


def raw(interval, samples, num_cpu, uptime_seconds, host_connected, host_health, events, **extra):
    """The raw telemetry dict features() reads: the one shape every source (vCenter now, vCenter's rollups, given
    telemetry, the bootstrap fleet) is put in. samples {counter: (n, length) array}; events {key: n counts}."""
    require_numpy()
    return dict(extra, interval=interval, samples=samples, num_cpu=np.asarray(num_cpu, dtype=float),
                uptime_seconds=np.asarray(uptime_seconds, dtype=float),
                host_connected=np.asarray(host_connected, dtype=float), host_health=np.asarray(host_health, dtype=float),
                events=events)


def raw_from_vsphere(vms, perf, events, samples, interval=20, event_window_hours=24, now=None):
    """The raw telemetry dict for `vms` (vsphere.VSphere.virtual_machines rows)."""
    now = now or datetime.datetime.now(datetime.timezone.utc)
    since = now - datetime.timedelta(hours=event_window_hours)
    return raw(interval, {c: pad_series([(perf.get(vm["moid"]) or {}).get(c) or [] for vm in vms], samples) for c in COUNTERS},
               num_cpu=[vm.get("num_cpu") or 1 for vm in vms],
               uptime_seconds=[vm["uptime_seconds"] if vm.get("uptime_seconds") is not None else float("nan") for vm in vms],
               host_connected=[1.0 if vm.get("host_connection_state") in ("connected", "") else 0.0 for vm in vms],
               host_health=[HEALTH.get(vm.get("host_overall_status") or "", 0) for vm in vms],
               events=count_events(events, vms, since))


def raw_from_rows(entries, interval=20):
    """The raw telemetry dict for given rows (fps_info's telemetry option): samples per counter, num_cpu, uptime,
    host state, event counts. Unknown counters are refused."""
    unknown = sorted({c for e in entries for c in (e.get("samples") or {}) if c not in COUNTERS})
    if unknown:
        raise MirroringError("Unknown counters in telemetry: %s (known: %s)" % (", ".join(unknown), ", ".join(COUNTERS)))
    length = max([len(v) for e in entries for v in (e.get("samples") or {}).values()] + [1])
    return raw(interval, {c: pad_series([(e.get("samples") or {}).get(c) or [] for e in entries], length) for c in COUNTERS},
               num_cpu=[e.get("num_cpu") or 1 for e in entries],
               uptime_seconds=[e["uptime_seconds"] if e.get("uptime_seconds") is not None else float("nan") for e in entries],
               host_connected=[1.0 if e.get("host_connected", True) else 0.0 for e in entries],
               host_health=[HEALTH[e.get("host_health") or "green"] for e in entries],
               events={k: [float((e.get("events") or {}).get(k, 0)) for e in entries] for k in EVENT_KEYS})


# The host-peer feature that says whether an absolute symptom is shared by the VMs of its host.
_PEER_OF = {absolute: peer for _words, absolute, _dev, peer in HOST_PEER_SYMPTOMS}


def alarm_floor(X):
    """The FPS floor the documented alarm lines (constants.ALARM_LINES) give each row of the feature matrix X.

    Monotone in every symptom: zero below the warning line, 31 at it, rising (in the value's logarithm) to 71 at the
    critical line, and beyond it on up towards ALARM_UNCORROBORATED_MAX (84) - or from ALARM_CORROBORATED_FPS (86)
    towards 99 when the VM raised a warning or error event in the window - never flat. It needs no baseline: a new
    VM past a line is not "healthy". A rise its host's VMs share is the host's (host_at_risk), not the VM's."""
    floor = np.zeros(len(X))
    for line_floor in line_floors(X).values():
        floor = np.maximum(floor, line_floor)
    return np.round(floor, 1)


def line_floors(X):
    """{alarm line's feature: the FPS floor it alone gives each row of X} (see alarm_floor)."""
    X = np.asarray(X, dtype=float)
    col = {name: i for i, name in enumerate(FEATURE_NAMES)}
    floors = {}
    corroborated = (np.nan_to_num(X[:, col["vm_warning_events"]]) + np.nan_to_num(X[:, col["vm_error_events"]])) > 0
    for name, (warning, critical, _source) in ALARM_LINES.items():
        v = np.nan_to_num(X[:, col[name]], nan=0.0)
        shared = np.nan_to_num(X[:, col[_PEER_OF[name]]]) >= ALARM_PEER_SHARED_SIGMA if name in _PEER_OF else False
        with np.errstate(divide="ignore", invalid="ignore"):
            below = 31.0 + (ALARM_FULL_ABOVE - 31.0) * np.log(np.maximum(v, warning) / warning) / np.log(critical / warning)
            past = 1.0 - critical / np.maximum(v, critical)
        above = np.where(corroborated, ALARM_CORROBORATED_FPS + (99.0 - ALARM_CORROBORATED_FPS) * past,
                         ALARM_FULL_ABOVE + (ALARM_UNCORROBORATED_MAX - ALARM_FULL_ABOVE) * past)
        f = np.where(v < warning, 0.0, np.where(v < critical, below, above))
        floors[name] = np.where(shared, 0.0, f)
    return floors


# How each feature reads in a reason: (template for its value, what it is). Deviations are in robust units (σ).
_DEV_TEXT = {
    "cpu_usage_dev": ("CPU usage", "cpu_usage_pct_mean", "%.0f %%"),
    "cpu_ready_dev": ("CPU ready", "cpu_ready_pct_mean", "%.1f %% per vCPU"),
    "mem_usage_dev": ("memory usage", "mem_usage_pct_mean", "%.0f %%"),
    "mem_balloon_dev": ("ballooning", "mem_balloon_mb_mean", "%.0f MB"),
    "mem_swapin_dev": ("swap-in", "mem_swapin_kbps_mean", "%.0f KB/s"),
    "disk_latency_dev": ("disk latency", "disk_latency_ms_mean", "%.1f ms"),
    "net_dropped_dev": ("dropped packets", "net_dropped_per_interval_mean", "%.1f per 20 s"),
}
_SLOPE_OF = {"disk_latency_dev": ("disk_latency_ms_slope_per_h", "ms/h"), "mem_usage_dev": ("mem_usage_pct_slope_per_h", "%/h")}
_ABS_TEXT = {
    "cpu_usage_pct_mean": "CPU usage %.0f %%",
    "cpu_usage_pct_p95": "CPU usage p95 %.0f %%",
    "cpu_ready_pct_mean": "CPU ready %.1f %% per vCPU",
    "mem_usage_pct_mean": "memory usage %.0f %%",
    "mem_usage_pct_slope_per_h": "memory usage changing %.1f %%/h",
    "mem_balloon_mb_mean": "ballooning %.0f MB",
    "mem_swapin_kbps_mean": "swap-in %.0f KB/s",
    "disk_latency_ms_mean": "disk latency %.1f ms",
    "disk_latency_ms_p95": "disk latency p95 %.1f ms",
    "disk_latency_ms_slope_per_h": "disk latency changing %.1f ms/h",
    "net_dropped_per_interval_mean": "%.1f dropped packets per 20 s",
    "uptime_days": "up %.0f days",
    "vm_error_events": "%.0f VM error events in the event window",
    "vm_warning_events": "%.0f VM warning events in the event window",
    "host_error_events": "%.0f error events of its ESXi host in the event window",
    "cluster_error_events": "%.0f host error events in its cluster in the event window",
    "datacenter_error_events": "%.0f error events in its datacenter in the event window",
    "missing_counters": "%.0f counters gave no samples",
    "disk_latency_spread_ratio": "disk latency %.1fx as jittery as this VM's normal",
    "disk_latency_ratio": "disk latency %.1fx this VM's normal",
}


def describe(name, value, row):
    """A reason in words: `name`'s `value`, with the VM's other features in `row` ({feature: value}) for context."""
    if name in _DEV_TEXT:
        what, absolute, fmt = _DEV_TEXT[name]
        side = "above" if value >= 0 else "below"
        text = "%s %.1fσ %s this VM's normal (%s)" % (what, abs(value), side, fmt % row.get(absolute, float("nan")))
        if name in _SLOPE_OF:
            slope_name, unit = _SLOPE_OF[name]
            slope = row.get(slope_name, 0.0)
            if abs(slope) >= 0.5:
                text += ", %s %.0f %s" % ("rising" if slope > 0 else "falling", abs(slope), unit)
        return text
    if name in PEER_FEATURES:
        what = next(words for words, _absolute, _dev, peer in HOST_PEER_SYMPTOMS if peer == name)
        return ("%s of the other VMs on its ESXi host %.1fσ above their own normal: a shift they share is the "
                "host's, not this VM's" % (what, value))
    if name == "host_health":
        return "its ESXi host's health is %s" % {2: "red", 1: "yellow"}.get(int(round(value)), "green")
    if name == "host_not_connected":
        return "its ESXi host is not connected"
    if name == "baseline_days":
        return ("no baseline yet (a new VM, or no rollups): judged without its normal" if value <= 0
                else "a baseline of %.1f days" % value)
    if name in _ABS_TEXT:
        text = _ABS_TEXT[name] % value
        if name in ALARM_LINES:
            warning, critical, _source = ALARM_LINES[name]
            if value >= warning:
                line, at = ("critical", critical) if value >= critical else ("warning", warning)
                text += ", past the %s line (%g)" % (line, at)
        return text
    return "%s %s" % (name, value)
