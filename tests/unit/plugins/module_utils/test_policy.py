from __future__ import annotations

import datetime

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import PolicyError
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import (
    Policy, alarm_floor, alarm_reasons, dependency_floor)

T0 = datetime.datetime(2026, 11, 26, 12, 0, tzinfo=datetime.timezone.utc)
MIN = datetime.timedelta(minutes=1)


@pytest.mark.parametrize("fps, level", [(0, "minimal"), (30.0, "minimal"), (30.1, "partial"), (31, "partial"),
                                        (70.0, "partial"), (70.1, "full"), (71, "full"), (100, "full")])
def test_bands_and_fractional_boundaries(fps, level):
    assert Policy().band(fps) == level


@pytest.mark.parametrize("fps", [-0.1, 100.1, float("nan"), "high", None])
def test_fps_out_of_range_is_refused(fps):
    with pytest.raises(PolicyError, match="FPS"):
        Policy().band(fps)


def test_bad_thresholds_are_refused():
    with pytest.raises(PolicyError):
        Policy(partial_above=70, full_above=30)
    with pytest.raises(PolicyError):
        Policy(failover_threshold=60)
    with pytest.raises(PolicyError):
        Policy(full_above=120)


def test_raising_is_immediate():
    assert Policy().decide(45, "minimal", None, T0)[0] == "partial"
    assert Policy().decide(95, "minimal", None, T0)[0] == "full"


def test_hysteresis_holds_a_wobbling_vm():
    p = Policy(margin=5, dwell=60 * MIN)
    level, below, _why = p.decide(29.0, "partial", None, T0)  # within the margin of 30
    assert (level, below) == ("partial", None)
    level, below, _why = p.decide(24.0, "partial", None, T0)  # margin below: dwell starts
    assert level == "partial" and below == T0
    level, below, _why = p.decide(24.0, "partial", below, T0 + 59 * MIN)
    assert level == "partial" and below == T0
    level, below, _why = p.decide(31.0, "partial", below, T0 + 61 * MIN)  # back up: the clock resets
    assert level == "partial" and below is None
    level, below, why = p.decide(20.0, "partial", T0, T0 + 61 * MIN)
    assert level == "minimal" and below is None and "stepped down" in why


def test_blast_radius_refuses_a_fleet_wide_spike():
    p = Policy(max_failovers=2, max_failover_cluster_pct=100)
    vms = [{"name": "vm%d" % i, "fps": 90.0, "cluster": "c%d" % i} for i in range(3)]
    go, refused, why = p.failover_candidates(vms)
    assert go == [] and len(refused) == 3 and "blast-radius" in why
    go, refused, why = p.failover_candidates(vms[:2])
    assert len(go) == 2 and not refused and why is None


def test_blast_radius_per_cluster():
    p = Policy(max_failovers=10, max_failover_cluster_pct=25)
    vms = [{"name": "vm%d" % i, "fps": 90.0 if i < 2 else 5.0, "cluster": "c0"} for i in range(4)]
    go, refused, why = p.failover_candidates(vms)
    assert go == [] and len(refused) == 2 and "c0" in why


def test_dependency_floor_is_transitive():
    levels = {"web": "full", "app": "minimal", "db": "minimal", "other": "partial"}
    out, raised = dependency_floor(levels, {"web": ["app"], "app": ["db"]})
    assert out == {"web": "full", "app": "full", "db": "full", "other": "partial"}
    assert set(raised) == {"app", "db"}


def test_hosts_at_risk_are_those_whose_own_signals_say_so_and_that_still_answer():
    from ansible_collections.predictive.mirroring.plugins.module_utils.policy import hosts_at_risk  # pylint: disable=import-outside-toplevel
    vms = [
        {"host": "h-red", "host_overall_status": "red", "host_connection_state": "connected", "host_error_events": 0},
        {"host": "h-red", "host_overall_status": "red", "host_connection_state": "connected", "host_error_events": 0},
        {"host": "h-noisy", "host_overall_status": "green", "host_connection_state": "connected", "host_error_events": 3},
        {"host": "h-one", "host_overall_status": "yellow", "host_connection_state": "connected", "host_error_events": 1},
        {"host": "h-gone", "host_overall_status": "red", "host_connection_state": "notResponding", "host_error_events": 5},
        {"host": "h-fine", "host_overall_status": "green", "host_connection_state": "connected", "host_error_events": 0},
        # a red hardware sensor puts its host at risk, a yellow one does not (Proactive HA's severe vs moderate)
        {"host": "h-fan", "host_overall_status": "yellow", "host_connection_state": "connected", "host_error_events": 0,
         "host_sensors": [{"name": "Fan Device 2", "health": "red", "type": "fan"},
                          {"name": "Power Supply 1", "health": "yellow", "type": "power"}]},
        {"host": "h-warm", "host_overall_status": "yellow", "host_connection_state": "connected", "host_error_events": 0,
         "host_sensors": [{"name": "CPU1 Temp", "health": "yellow", "type": "temperature"}]},
    ]
    got = {host: why for (_vcenter, host), why in hosts_at_risk(vms).items()}
    assert sorted(got) == ["h-fan", "h-noisy", "h-red"]
    assert got["h-fan"] == "host h-fan: its hardware sensor 'Fan Device 2' is red"
    assert got["h-red"] == "host h-red: its health is red"
    assert got["h-noisy"] == "host h-noisy: it raised 3 error events"


RED = {"name": "Virtual machine disk latency", "status": "red", "since": "2026-12-06T09:12:00+00:00"}
YELLOW = {"name": "Virtual machine memory usage", "status": "yellow", "since": None}


@pytest.mark.parametrize("level, band, alarms, want", [
    ("minimal", "minimal", [RED], "partial"),
    ("partial", "partial", [YELLOW, RED], "full"),
    ("full", "full", [RED], "full"),
    ("full", "minimal", [RED], "full"),  # held higher by hysteresis: never lowered
    ("partial", "minimal", [RED], "partial"),
    ("minimal", "minimal", [YELLOW], "minimal"),
    ("minimal", "minimal", [], "minimal"),
])
def test_a_red_alarm_holds_a_vm_one_level_above_its_band(level, band, alarms, want):
    got, why = alarm_floor(level, band, alarms)
    assert got == want
    assert (why is not None) == (got != level)
    if why:
        assert why == "raised to %s: vCenter alarm 'Virtual machine disk latency' is red on this VM" % want


def test_alarms_are_reasons_in_the_models_shape():
    reasons = alarm_reasons([RED, YELLOW])
    assert [r["text"] for r in reasons] == [
        "vCenter alarm 'Virtual machine disk latency' red on this VM since 2026-12-06 09:12 UTC",
        "vCenter alarm 'Virtual machine memory usage' yellow on this VM"]
    assert all(r["feature"] == "vcenter_alarm" and r["contribution"] == 0.0 for r in reasons)
