from __future__ import annotations

import datetime

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import telemetry

NOW = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.timezone.utc)


def raw(n=2, samples=None, **kw):
    base = {"interval": 20, "samples": samples or {}, "num_cpu": [2] * n, "uptime_seconds": [86400.0] * n,
            "host_connected": [1.0] * n, "host_health": [0.0] * n, "events": {}}
    base.update(kw)
    return base


def col(X, name):
    return X[:, telemetry.FEATURE_NAMES.index(name)]


def test_feature_order_is_fixed_and_complete():
    X, missing = telemetry.features(raw(samples={c: np.full((2, 5), 100.0) for c in telemetry.COUNTERS}))
    assert X.shape == (2, len(telemetry.FEATURE_NAMES))
    assert missing == [[], []]
    assert np.isfinite(X).all()


def test_missing_counter_is_imputed_and_flagged_never_a_crash():
    samples = {"cpu.usage.average": np.array([[2000.0, 2200, 2100], [np.nan, np.nan, np.nan]])}
    X, missing = telemetry.features(raw(samples=samples, uptime_seconds=[86400.0, float("nan")]))
    assert np.isfinite(X).all()
    assert col(X, "cpu_usage_pct_mean")[0] == pytest.approx(21.0)
    assert col(X, "cpu_usage_pct_mean")[1] == telemetry.IMPUTE["cpu_usage_pct_mean"]
    assert col(X, "disk_latency_ms_mean")[0] == telemetry.IMPUTE["disk_latency_ms_mean"]
    assert "cpu.usage.average" in missing[1] and "uptime" in missing[1]
    assert "cpu.usage.average" not in missing[0]
    # every counter but cpu is missing on VM 0; all counters and uptime on VM 1
    assert col(X, "missing_counters").tolist() == [len(telemetry.COUNTERS) - 1, len(telemetry.COUNTERS) + 1]


def test_units_are_converted_from_vsphere():
    samples = {"cpu.ready.summation": np.full((1, 3), 400.0),  # 400 ms of 20 s on 2 vCPUs = 1 %
               "mem.vmmemctl.average": np.full((1, 3), 2048.0),  # KB
               "mem.usage.average": np.full((1, 3), 5000.0)}
    X = telemetry.features(raw(n=1, samples=samples))[0]
    assert col(X, "cpu_ready_pct_mean")[0] == pytest.approx(1.0)
    assert col(X, "mem_balloon_mb_mean")[0] == pytest.approx(2.0)
    assert col(X, "mem_usage_pct_mean")[0] == pytest.approx(50.0)


def test_slope_is_per_hour_and_ignores_gaps():
    # +1 ms per 20 s sample = +180 ms per hour, with a hole in the middle
    disk = np.array([[1.0, 2.0, np.nan, 4.0, 5.0, 6.0]])
    X = telemetry.features(raw(n=1, samples={"disk.maxTotalLatency.latest": disk}))[0]
    assert col(X, "disk_latency_ms_slope_per_h")[0] == pytest.approx(180.0)


def test_pad_series_right_aligns_newest_and_drops_negative_samples():
    out = telemetry.pad_series([[1, 2, 3], [], [5, -1, 7, 8, 9, 10]], 4)
    assert np.isnan(out[0, 0]) and out[0, 1:].tolist() == [1, 2, 3]
    assert np.isnan(out[1]).all()
    assert out[2].tolist() == [7, 8, 9, 10]
    assert np.isnan(telemetry.pad_series([[-1, 4]], 2)[0, 0])


def test_event_windows_and_levels():
    vms = [{"moid": "vm-1", "host_moid": "host-1", "cluster_moid": "c-1", "datacenter_moid": "dc-1"},
           {"moid": "vm-2", "host_moid": "host-2", "cluster_moid": "c-1", "datacenter_moid": "dc-1"}]
    hour = datetime.timedelta(hours=1)
    events = [
        {"type": "GeneralVmErrorEvent", "created": NOW - hour, "vm": "vm-1", "host": "host-1", "cluster": "c-1", "datacenter": "dc-1"},
        {"type": "GeneralVmWarningEvent", "created": NOW - hour, "vm": "vm-1", "host": "host-1", "cluster": "c-1", "datacenter": "dc-1"},
        {"type": "GeneralVmErrorEvent", "created": NOW - 30 * hour, "vm": "vm-2", "host": "host-2", "cluster": "c-1", "datacenter": "dc-1"},
        {"type": "GeneralHostErrorEvent", "created": NOW - hour, "vm": None, "host": "host-2", "cluster": "c-1", "datacenter": "dc-1"},
        {"type": "VmPoweredOnEvent", "created": NOW - hour, "vm": "vm-2", "host": "host-2", "cluster": "c-1", "datacenter": "dc-1"},
    ]
    got = telemetry.count_events(events, vms, NOW - 24 * hour)
    assert got["vm_error"].tolist() == [1, 0]  # vm-2's error is older than the window
    assert got["vm_warning"].tolist() == [1, 0]
    assert got["host_error"].tolist() == [0, 1]  # a VM's own error is not its host's
    assert got["cluster_error"].tolist() == [1, 1]
    assert got["datacenter_error"].tolist() == [1, 1]


def test_every_event_type_named_is_a_real_vsphere_event():
    from pyVmomi import vim  # pylint: disable=import-outside-toplevel
    from ansible_collections.predictive.mirroring.plugins.module_utils.constants import FAILURE_EVENTS  # pylint: disable=import-outside-toplevel
    for name in sorted(telemetry.SIGNAL_EVENTS | set(FAILURE_EVENTS)):
        assert issubclass(getattr(vim.event, name), vim.event.Event), name


def test_coverage_is_the_share_of_the_window_that_arrived():
    n, length = 3, 10
    full = np.ones((n, length))
    samples = {c: full.copy() for c in telemetry.COUNTERS}
    samples["disk.maxTotalLatency.latest"][1, :] = np.nan   # VM 1: one counter gave nothing
    samples["cpu.usage.average"][2, :5] = np.nan            # VM 2: half of one counter's window
    raw = {"num_cpu": [1] * n, "samples": samples}
    got = telemetry.coverage(raw)
    k = len(telemetry.COUNTERS)
    assert got[0] == 1.0
    assert abs(got[1] - (k - 1) / k) < 1e-9
    assert abs(got[2] - (k - 0.5) / k) < 1e-9
    assert telemetry.coverage({"num_cpu": [1], "samples": {}})[0] == 0.0


def test_gap_reasons_name_the_missing_counters_and_the_thin_window():
    assert telemetry.gap_reasons([], 1.0, 0.5) is None
    assert telemetry.gap_reasons(["uptime"], 1.0, 0.5) is None  # uptime alone is not telemetry
    why = telemetry.gap_reasons(["disk.maxTotalLatency.latest"], 0.86, 0.5)
    assert why == "no samples for disk.maxTotalLatency.latest"
    why = telemetry.gap_reasons([], 0.3, 0.5)
    assert why == "30% of the window's samples arrived (below 50%)"


def test_disk_latency_ratio_is_the_window_against_the_vms_normal_floored_and_one_without_it():
    """3 ms on a VM whose normal is 0.5 ms (flash) is six times it; a normal below RATIO_FLOOR_MS counts as the floor;
    no baseline (a new VM) or no samples: 1, the value of a VM at its normal, never a symptom."""
    disk = np.array([[3.0, 3.0, 3.0], [3.0, 3.0, 3.0], [30.0, 30.0, 30.0], [np.nan, np.nan, np.nan]])
    centre = {"disk.maxTotalLatency.latest": np.array([0.5, 0.1, np.nan, 2.0])}
    X = telemetry.features(raw(n=4, samples={"disk.maxTotalLatency.latest": disk},
                               baseline={"centre": centre, "spread": {}, "days": np.array([7.0, 7.0, 0.0, 7.0])}))[0]
    assert col(X, "disk_latency_ratio").tolist() == [6.0, 3.0 / telemetry.RATIO_FLOOR_MS, 1.0, 1.0]
    row = dict(zip(telemetry.FEATURE_NAMES, X[0]))
    assert telemetry.describe("disk_latency_ratio", 6.0, row) == "disk latency 6.0x this VM's normal"
