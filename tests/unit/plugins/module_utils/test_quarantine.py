"""The vCenter side of a failover as an ensure, without Ansible or the simulator: quarantine, power on, release.

vCenter is stood in for by `Estate`, which holds one primary's attributes and power state and counts what was
written; the history store is a real SQLite store. Each step is checked in check mode (reported, nothing written),
for real, and a second time (nothing left to do). The simulator-backed integration tests run the same steps through
vm_failover against govmomi's vCenter.
"""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import failover
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_QUARANTINED
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from ansible_collections.predictive.mirroring.plugins.module_utils.task import Task

UUID = "5003-aaaa"
PARAMS = {"kind": "predictive", "power_off": True, "fps": 91.5, "reasons": [{"feature": "disk_latency_ms"}],
          "downtime_s": None, "data_lag_bytes": 0, "data_lag_s": 0.0}


class Estate:
    """What failover's steps touch in vCenter: one VM's quarantine attribute and power, with a log of the writes."""

    class _VS:
        name = "vc.example:443"

    def __init__(self):
        self.vs = self._VS()
        self.writes = []
        self.vm = {"name": "db01", "instance_uuid": UUID, "power_state": "poweredOn", "attributes": {}}

    def features(self, vm):
        return {"disk_latency_ms": 480.0} if vm["power_state"] == "poweredOn" else None

    def power(self, vm, on):
        want = "poweredOn" if on else "poweredOff"
        if vm["power_state"] == want:
            return False
        self.writes.append(("power", want))
        vm["power_state"] = want
        return True

    def set_quarantine(self, vm, value):
        self.writes.append(("quarantine", value))

    def before(self):
        return failover.Quarantine.state(dict(self.vm, host=None, cluster=None, datacenter=None, num_cpu=1,
                                              memory_mb=1024))


@pytest.fixture
def store(tmp_path):
    with History(str(tmp_path / "history.sqlite")) as h:
        yield h


def quarantine(estate, store, check_mode=False):
    task = Task(check_mode=check_mode)
    out = failover._quarantine(estate, store, estate.vm, {"name": "db01-mirror"}, estate.before(), PARAMS, task)  # pylint: disable=protected-access
    return task.changed, out


def test_quarantine_in_check_mode_reports_a_change_and_writes_nothing(store):
    estate = Estate()
    changed, out = quarantine(estate, store, check_mode=True)
    assert changed and out == {}
    assert estate.writes == [] and estate.vm["power_state"] == "poweredOn"
    assert store.failovers() == [] and store.actions() == []


def test_quarantine_powers_off_marks_and_records_once_intent_first(store):
    estate = Estate()
    changed, out = quarantine(estate, store)
    assert changed
    assert [w[0] for w in estate.writes] == ["power", "quarantine"]
    stamp = estate.writes[1][1]
    assert estate.vm["attributes"][ATTR_QUARANTINED] == stamp
    [record] = store.failovers(vm_uuid=UUID)
    assert record["id"] == out["failover_id"] and record["at"] == stamp and record["kind"] == "predictive"
    assert record["features"] == {"disk_latency_ms": 480.0}  # as the model saw it, read before the power-off
    assert record["vcenter"] == "vc.example:443"
    [action] = store.actions(vm_uuid=UUID)
    assert action["action"] == "quarantine" and action["status"] == "done"
    assert action["detail"]["failover_id"] == out["failover_id"]
    # a second run: nothing left to do, nothing written
    changed, out = quarantine(estate, store)
    assert not changed and out == {}
    assert len(estate.writes) == 2 and len(store.failovers()) == 1 and len(store.actions()) == 1


def test_a_half_done_quarantine_is_completed_with_its_first_stamp(store):
    """A run killed after marking the VM and before recording: the re-run records it, keeping the stamp it has."""
    estate = Estate()
    estate.vm["attributes"][ATTR_QUARANTINED] = "2026-12-01T10:00:00+00:00"
    estate.vm["power_state"] = "poweredOff"
    changed, out = quarantine(estate, store)
    assert changed and estate.writes == []  # already off and marked: only the record was missing
    [record] = store.failovers()
    assert record["id"] == out["failover_id"] and record["at"] == "2026-12-01T10:00:00+00:00"
    assert record["features"] is None  # powered off: nothing read as the model would


def test_a_failing_act_is_recorded_failed_and_raises(store):
    estate = Estate()

    def refuse(vm, on):
        raise MirroringError("Failed to power off %s: NoPermission" % vm["name"])

    estate.power = refuse
    with pytest.raises(MirroringError, match="NoPermission"):
        quarantine(estate, store)
    [action] = store.actions()
    assert action["status"] == "failed" and "NoPermission" in action["error"]
    assert store.failovers() == [] and estate.writes == []


def test_power_on_needs_a_quarantined_primary_and_happens_once(store):
    estate = Estate()
    estate.vm["power_state"] = "poweredOff"
    with pytest.raises(MirroringError, match="not quarantined"):
        failover._power_on(estate, store, estate.vm, estate.before(), Task())  # pylint: disable=protected-access
    estate.vm["attributes"][ATTR_QUARANTINED] = "2026-12-01T10:00:00+00:00"
    task = Task(check_mode=True)
    failover._power_on(estate, store, estate.vm, estate.before(), task)  # pylint: disable=protected-access
    assert task.changed and estate.writes == [] and store.actions() == []
    task = Task()
    failover._power_on(estate, store, estate.vm, estate.before(), task)  # pylint: disable=protected-access
    assert task.changed and estate.writes == [("power", "poweredOn")]
    assert [a["action"] for a in store.actions()] == ["power_on"]
    task = Task()
    failover._power_on(estate, store, estate.vm, estate.before(), task)  # pylint: disable=protected-access
    assert not task.changed and len(estate.writes) == 1 and len(store.actions()) == 1


def test_release_clears_the_mark_and_closes_the_open_failover_once(store):
    estate = Estate()
    quarantine(estate, store)
    estate.writes.clear()
    task = Task(check_mode=True)
    failover._release(estate, store, estate.vm, estate.before(), task)  # pylint: disable=protected-access
    assert task.changed and estate.writes == [] and store.failovers(open_only=True)
    task = Task()
    out = failover._release(estate, store, estate.vm, estate.before(), task)  # pylint: disable=protected-access
    assert task.changed and estate.writes == [("quarantine", "")] and estate.vm["attributes"][ATTR_QUARANTINED] == ""
    [record] = store.failovers()
    assert record["id"] == out["failover_id"] and record["failback_at"]
    assert store.failovers(open_only=True) == []
    task = Task()
    assert failover._release(estate, store, estate.vm, estate.before(), task) == {}  # pylint: disable=protected-access
    assert not task.changed and len(estate.writes) == 1
