from __future__ import annotations

import numpy as np
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import TrainingError
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, telemetry


def small(seed):
    return fleet.bootstrap_set(seed=seed, n_vms=200, days=6, windows=3000)


def test_same_seed_same_set():
    a, b = small(7), small(7)
    assert np.array_equal(a["X"], b["X"]) and np.array_equal(a["y"], b["y"])
    assert a["summary"] == b["summary"]


def test_other_seed_other_set():
    assert not np.array_equal(small(7)["X"], small(8)["X"])


def test_set_is_time_ordered_labelled_and_consistent():
    d = small(3)
    assert d["X"].shape == (3000, len(telemetry.FEATURE_NAMES))
    assert np.all(np.diff(d["time_h"]) >= 0)
    horizon = d["summary"]["horizon_hours"]
    assert np.array_equal(d["y"], (d["time_to_failure_h"] <= horizon).astype(int))
    assert d["summary"]["positives"] == int(d["y"].sum())


def test_hazard_grows_with_every_mode():
    zero = {m: np.zeros(1) for m in fleet.MODES}
    base = fleet.hazard(zero)[0]
    assert base == pytest.approx(fleet.BACKGROUND_HAZARD)
    for mode in fleet.MODES:
        sev = dict(zero, **{mode: np.array([0.5])})
        high = dict(zero, **{mode: np.array([1.0])})
        assert base < fleet.hazard(sev)[0] < fleet.hazard(high)[0]


def test_degrading_vms_fail_more_often_than_healthy_ones():
    d = fleet.bootstrap_set(seed=11, n_vms=400, days=10, windows=20000)
    disk = d["X"][:, telemetry.FEATURE_NAMES.index("disk_latency_ms_mean")]
    assert d["y"][disk > 30].mean() > 10 * d["y"][disk < 8].mean()


def test_scenario_series_in_vsphere_units_and_reproducible():
    a = fleet.scenario_series("degrading_disk", 0.9, seed=1)
    assert set(a) == set(telemetry.COUNTERS)
    assert all(isinstance(v, int) for v in a["disk.maxTotalLatency.latest"])
    assert a == fleet.scenario_series("degrading_disk", 0.9, seed=1)
    healthy = fleet.scenario_series("healthy", 0.0, seed=1)
    assert np.mean(a["disk.maxTotalLatency.latest"]) > 10 * np.mean(healthy["disk.maxTotalLatency.latest"])


@pytest.mark.parametrize("scenario, severity", [("nope", 0.5), ("healthy", 1.5), ("healthy", -0.1)])
def test_scenario_rejects_bad_input(scenario, severity):
    with pytest.raises(TrainingError, match="unknown scenario|severity must be within 0..1"):
        fleet.scenario_series(scenario, severity)


def test_scenario_events_grow_with_severity():
    low = fleet.scenario_events("degrading_disk", 0.1, seed=2)
    high = fleet.scenario_events("degrading_disk", 1.0, seed=2)
    assert len(high["vm"]) > len(low["vm"])
    assert fleet.scenario_events("host_fault", 1.0, seed=2)["host"]


def test_a_window_ending_after_its_vms_failure_shows_the_restarted_vm():
    """A VM that fails within a step is restarted with its fault repaired: the state recorded at the step's end shows
    no symptom of it. (Recorded before the repair, windows that ended after the failure showed the failing VM and,
    their failure behind them, were labelled healthy: the worst symptoms looked half harmless.)"""
    f = fleet.Fleet(seed=3, n_vms=300)
    sim = f.run(6)
    seen = 0
    for vm, times in enumerate(sim["failures"]):
        for when in times:
            step = int(when // f.step_h)  # failed within step `step`, recorded at its end, index step + 1
            for mode in ("disk", "memory", "network"):
                assert sim["severity"][mode][step + 1, vm] == 0.0, (vm, when, mode)
            seen += 1
    assert seen > 20
    # and failing VMs did show their fault the step before
    assert any(max(sim["severity"][m][int(w // f.step_h), vm] for m in ("disk", "memory")) > 0.3
               for vm, times in enumerate(sim["failures"]) for w in times)
