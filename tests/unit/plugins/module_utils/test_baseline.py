from __future__ import annotations

import datetime
import json
import os
import stat

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import baseline, policy, telemetry
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

UTC = datetime.timezone.utc
NOW = datetime.datetime(2026, 11, 28, 12, tzinfo=UTC)


def rollup(values_by_counter, interval):
    n = len(next(iter(values_by_counter.values())))
    return dict(values_by_counter, timestamps=[NOW - datetime.timedelta(seconds=interval * (n - 1 - i)) for i in range(n)])


def test_a_flat_series_gets_the_floor_not_a_zero_spread():
    b = baseline.learn_one([15.0] * 100)
    assert b["centre"] == 15.0 and b["spread"] == 0.0 and b["hourly"] is None
    # 10 % of the centre, above the 1 ms floor
    assert baseline.floored_spread("disk.maxTotalLatency.latest", b["spread"], b["centre"]) == pytest.approx(1.5)
    assert baseline.floored_spread("disk.maxTotalLatency.latest", 0.0, 2.0) == 1.0


def test_too_little_history_is_no_baseline():
    assert baseline.learn_one([3.0] * (baseline.MIN_SAMPLES - 1)) is None
    assert baseline.learn_one([np.nan] * 50 + [3.0] * 5) is None


def test_a_nightly_backup_is_that_hours_normal_from_three_days_on():
    hours = np.tile(np.arange(24), 7)
    values = np.where(hours == 2, 30.0, 5.0) + np.random.default_rng(1).normal(0, 0.2, len(hours))
    week = baseline.learn_one(values, hours, 7.0)
    assert week["hourly"][2] == pytest.approx(30.0, abs=0.5) and week["hourly"][14] == pytest.approx(5.0, abs=0.5)
    assert week["spread"] < 1.0  # the backup hour does not widen the band of the other hours
    short = baseline.learn_one(values[:48], hours[:48], 2.0)
    assert short["hourly"] is None


def test_learn_merges_rollups_in_feature_units_without_counting_twice():
    day = rollup({"cpu.ready.summation": [6000] * 288, "mem.vmmemctl.average": [1048576] * 288,
                  "net.droppedRx.summation": [150] * 288}, 300)
    week = rollup({"cpu.ready.summation": [36000] * 336, "mem.vmmemctl.average": [1048576] * 336,
                   "net.droppedRx.summation": [900] * 336}, 1800)
    b = baseline.learn({300: day, 1800: week}, num_cpu=2)
    c = b["counters"]
    # 6000 ms of ready per 300 s over 2 vCPUs = 1 % per vCPU; 36000 per 1800 s is the same
    assert c["cpu.ready.summation"]["centre"] == pytest.approx(1.0)
    assert c["mem.vmmemctl.average"]["centre"] == pytest.approx(1024.0)
    assert c["net.droppedRx.summation"]["centre"] == pytest.approx(10.0)  # per 20 s
    # the week's samples inside the day's span are left out: 288 + (336 - 48)
    assert c["cpu.ready.summation"]["n"] == 288 + 336 - 48
    assert b["days"] == pytest.approx(7.0, abs=0.05)
    assert baseline.learn({300: None, 1800: {"timestamps": []}}) == {"days": 0.0, "counters": {}}


def test_deviations_need_a_baseline_and_peers_exclude_the_vm_itself():
    assert np.isnan(baseline.deviation([10.0], np.array([np.nan]), np.array([np.nan]))[0])
    assert baseline.deviation([13.0], np.array([10.0]), np.array([1.0]))[0] == 3.0
    peers = telemetry.peer_median(np.array([9.0, 1.0, 1.0, 1.0, 5.0, np.nan]), ["h1", "h1", "h1", "h1", "h2", "h1"])
    assert peers[0] == 1.0 and peers[1] == 1.0 and np.isnan(peers[4]) and peers[5] == 1.0
    assert np.isnan(telemetry.peer_median(np.array([1.0, 2.0]), ["h", "h"])).all()  # too few peers


def test_features_against_the_normal_and_without_one():
    n = 2
    raw = {"interval": 20, "num_cpu": [2, 2],
           "samples": {"disk.maxTotalLatency.latest": np.array([[12.0] * 30, [12.0] * 30])},
           "baseline": {"centre": {"disk.maxTotalLatency.latest": np.array([12.0, np.nan])},
                        "spread": {"disk.maxTotalLatency.latest": np.array([1.2, np.nan])}, "days": np.array([7.0, 0.0])}}
    X, _missing = telemetry.features(raw)
    row = dict(zip(telemetry.FEATURE_NAMES, X[0]))
    new = dict(zip(telemetry.FEATURE_NAMES, X[1]))
    assert row["disk_latency_dev"] == 0.0 and row["baseline_days"] == 7.0 and row["disk_latency_ms_mean"] == 12.0
    assert new["disk_latency_dev"] == 0.0 and new["baseline_days"] == 0.0
    assert X.shape == (n, len(telemetry.FEATURE_NAMES)) and np.isfinite(X).all()


def test_reasons_read_as_sentences():
    row = {"disk_latency_ms_mean": 42.0, "disk_latency_ms_slope_per_h": 18.0}
    assert telemetry.describe("disk_latency_dev", 4.1, row) == \
        "disk latency 4.1σ above this VM's normal (42.0 ms), rising 18 ms/h"
    assert "the host's, not this VM's" in telemetry.describe("host_peers_cpu_ready_dev", 5.0, {})
    assert telemetry.describe("host_health", 2.0, {}) == "its ESXi host's health is red"
    assert "no baseline yet" in telemetry.describe("baseline_days", 0.0, {})


def test_every_vm_of_a_host_drifting_together_puts_the_host_at_risk():
    drifting = [{"host": "H1", "host_connection_state": "connected", "host_peers_cpu_ready_dev": 6.0} for _i in range(4)]
    alone = [{"host": "H2", "host_connection_state": "connected", "host_peers_cpu_ready_dev": 6.0},
             {"host": "H2", "host_connection_state": "connected", "host_peers_cpu_ready_dev": 0.1},
             {"host": "H2", "host_connection_state": "connected", "host_peers_cpu_ready_dev": 0.0}]
    out = policy.hosts_at_risk(drifting + alone)
    assert set(out) == {("", "H1")} and "drifts together" in out[("", "H1")]


def test_cache_refreshes_stale_entries_and_writes_privately(tmp_path):
    path = str(tmp_path / "sub" / "baselines.json")
    cache = baseline.BaselineCache(path, refresh=datetime.timedelta(hours=1))
    assert cache.stale(["a", "b"], NOW) == ["a", "b"]
    cache.put("a", {"days": 1.0, "counters": {}}, NOW)
    cache.put("gone", {"days": 1.0, "counters": {}}, NOW - datetime.timedelta(days=8))
    cache.save(NOW)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    again = baseline.BaselineCache(path, refresh=datetime.timedelta(hours=1))
    assert set(again.entries) == {"a"}  # a VM not seen for a week is forgotten
    assert again.stale(["a", "b"], NOW + datetime.timedelta(minutes=59)) == ["b"]
    assert again.stale(["a"], NOW + datetime.timedelta(minutes=61)) == ["a"]
    assert not [f for f in os.listdir(tmp_path / "sub") if f.endswith(".tmp")]


def test_an_unreadable_cache_is_one_clear_error(tmp_path):
    path = tmp_path / "baselines.json"
    path.write_text("{not json")
    with pytest.raises(MirroringError, match="delete it and it is rebuilt"):
        baseline.BaselineCache(str(path))
    path.write_text(json.dumps({"format": 999, "vms": {"x": {}}}))
    assert baseline.BaselineCache(str(path)).entries == {}  # another format: started afresh


def test_a_cache_that_cannot_be_written_is_one_clear_error(tmp_path):
    (tmp_path / "file").write_text("x")
    cache = baseline.BaselineCache(str(tmp_path / "file" / "baselines.json"))  # a file where a directory must be
    cache.put("a", {"days": 0.0, "counters": {}}, NOW)
    with pytest.raises(MirroringError, match="cannot be written"):
        cache.save(NOW)
    assert baseline.BaselineCache("").path is None
    baseline.BaselineCache("").save(NOW)  # keeps nothing, writes nothing
