from __future__ import annotations

import datetime

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils import metrics
from ansible_collections.predictive.mirroring.plugins.modules import run_metrics

VIEW = [{"inventory_hostname": "db01", "vm_name": "db01", "vm_instance_uuid": "u1", "vcenter": "vc", "datacenter": "DC0",
         "cluster": "C0", "fps": 91.0, "mirroring_level": "full", "mirroring_data_lag": {"postgresql": 75.0}},
        {"inventory_hostname": "web01_vm-9", "vm_name": "web01", "vm_instance_uuid": "u2", "vcenter": "vc", "fps": 12.0,
         "mirroring_level": "partial", "mirroring_rpo_seconds": 600, "mirroring_data_lag": {"postgresql": 75.0}},
        {"inventory_hostname": "old", "vm_instance_uuid": "u3", "vcenter": "vc", "fps": 99.0, "mirroring_level": "full",
         "mirroring_level_current": "full", "mirroring_quarantined": "2026-11-27T00:00:00+00:00"},
        {"inventory_hostname": "not-a-vm"}]


def test_each_vm_gets_its_planned_level_its_rpo_and_its_wait():
    plan = {"vms": [{"uuid": "u2", "level": "minimal"}], "totals": {}}
    rows = {r["vm_uuid"]: r for r in metrics.vm_states(VIEW, plan, ["db01", "old"], 60.0)}
    assert set(rows) == {"u1", "u2", "u3"}  # a host that is not a VM is not recorded
    assert rows["u1"]["level"] == "full" and rows["u1"]["failover_now"]
    assert rows["u2"]["level"] == "minimal" and rows["u2"]["vm"] == "web01"  # the plan's level, the VM's own name
    assert rows["u2"]["data"] == {"postgresql": {"lag_seconds": 75.0, "rpo_seconds": 600.0}}
    assert rows["u3"]["quarantined"] and not rows["u3"]["failover_now"]  # failed over: not waiting
    found, new = metrics.rpo_violations(list(rows.values()), {})
    assert [v["vm"] for v in found] == ["db01"] and new == found
    before = {("vc", "u1"): {"postgresql": {"lag_seconds": 90.0, "rpo_seconds": 60.0}}}
    assert metrics.rpo_violations(list(rows.values()), before)[1] == []  # still violated: not news


def test_refusals_and_times_are_checked():
    [row] = metrics.refusal_rows([dict(VIEW[0], failover_refused_reason="blast_radius", failover_refused_why="3 of 4")])
    assert (row["vm"], row["reason"], row["why"], row["vm_uuid"]) == ("db01", "blast_radius", "3 of 4", "u1")
    with pytest.raises(MirroringError, match="reason is one of"):
        metrics.refusal_rows([{"vm": "db01", "reason": "blast radius; rm -rf /"}])
    with pytest.raises(MirroringError, match="names its VM"):
        metrics.refusal_rows([{"reason": "preflight"}])
    utc = datetime.timezone.utc
    assert metrics.parse_started("1795886688") == datetime.datetime.fromtimestamp(1795886688, utc)
    assert metrics.parse_started("2026-11-28T10:00:00Z").hour == 10
    assert metrics.parse_started("2026-11-28T12:00:00+02:00").hour == 10
    for bad in ("2026-11-28T10:00:00", "yesterday", ""):
        with pytest.raises(MirroringError):
            metrics.parse_started(bad)


def test_a_metrics_file_that_cannot_be_written_changes_nothing_and_a_good_one_is_written_once(tmp_path):
    from common.utils import run_module  # pylint: disable=import-outside-toplevel
    from ansible_collections.predictive.mirroring.plugins.module_utils.history import History  # pylint: disable=import-outside-toplevel
    store = str(tmp_path / "h.sqlite")
    args = {"job": "reconcile", "started": "2026-11-28T10:00:00+00:00", "vms": VIEW[:1], "history_path": store,
            "refusals": [{"vm": "db02", "reason": "preflight", "why": "no mirror"}]}
    for bad in (str(tmp_path / "missing" / "pm.prom"), str(tmp_path / "pm.txt")):
        result, failed = run_module(run_metrics, dict(args, textfile=bad))
        assert failed and "metrics file" in result["msg"]
    with History(store) as h:
        assert h.runs_summary() == {} and h.vm_status() == [] and h.refusal_counts() == {}
    good = str(tmp_path / "pm.prom")
    result, failed = run_module(run_metrics, dict(args, textfile=good))
    assert not failed and result["changed"] and result["vms"] == 1 and len(result["refusals_new"]) == 1
    result, failed = run_module(run_metrics, dict(args, textfile=good, refusals=[]))
    assert not failed and not result["changed"]  # the same VM state again: the same metrics but for the times
    result, failed = run_module(run_metrics, dict(args, textfile=good))
    assert not failed and result["changed"] and result["refusals_new"] == []  # refused again: counted, not news


def test_a_providers_own_rpo_is_held_against_its_own_lag():
    view = [dict(VIEW[1], mirroring_data_lag={"postgresql": 75.0, "files": 900.0}, mirroring_data_rpo={"files": 14400})]
    [row] = metrics.vm_states(view, None, [], 60.0)
    assert row["data"] == {"postgresql": {"lag_seconds": 75.0, "rpo_seconds": 600.0},
                           "files": {"lag_seconds": 900.0, "rpo_seconds": 14400.0}}
    assert metrics.rpo_violations([row], {})[0] == []  # 15 min behind a 4 h file RPO is held
