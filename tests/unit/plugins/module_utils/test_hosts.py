"""The storage evacuation's plan without vCenter: which datastore each VM's files go to, and what is refused before
anything moves (the moves themselves are in tests/integration/test_evacuate.py, on the simulator)."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_DATASTORE_AT_RISK
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import VSphereError
from ansible_collections.predictive.mirroring.plugins.module_utils.hosts import StorageEvacuation

GB = 2 ** 30


class Ref:  # pylint: disable=too-few-public-methods
    """What the plan reads of a managed object reference: its moid and its custom values."""

    def __init__(self, moid, marks=()):
        self._moId = moid  # pylint: disable=invalid-name
        self.customValue = [type("CV", (), {"key": 1, "value": m})() for m in marks]  # pylint: disable=invalid-name


class VCenter:
    """The rows VSphere.retrieve gives, for datastores, hosts and VMs."""

    name = "vc1"

    def __init__(self, stores, hosts, vms):
        self.rows = {"Datastore": stores, "HostSystem": hosts, "VirtualMachine": vms}

    def field_names(self):
        return {1: ATTR_DATASTORE_AT_RISK}

    def retrieve(self, kind, _properties):
        return self.rows[kind]


def store(moid, name, free_gb, accessible=True, maintenance="normal", marks=()):
    return {"moid": moid, "_ref": Ref(moid, marks), "name": name, "summary.freeSpace": free_gb * GB,
            "summary.accessible": accessible, "summary.maintenanceMode": maintenance}


def vm(name, on, host="host-1", size_gb=10):
    return {"moid": "vm-" + name, "_ref": Ref("vm-" + name), "name": name, "datastore": [Ref(m) for m in on],
            "runtime.host": Ref(host), "config.template": False, "config.instanceUuid": "u-" + name,
            "summary.storage.committed": size_gb * GB}


def estate(stores, vms, seen=("ds-1", "ds-2", "ds-3", "ds-4")):
    return StorageEvacuation(VCenter(stores, [{"moid": "host-1", "name": "esx1", "datastore": [Ref(m) for m in seen]}], vms))


def test_each_vm_goes_to_the_usable_datastore_with_most_room_left():
    ev = estate([store("ds-1", "sick", 500), store("ds-2", "big", 100), store("ds-3", "small", 60),
                 store("ds-4", "down", 900, accessible=False)],
                [vm("a", ["ds-1"], size_gb=50), vm("b", ["ds-1"], size_gb=30), vm("c", ["ds-1"], size_gb=10),
                 vm("other", ["ds-2"])])
    [(moid, moves, mark)] = ev.plan(["sick"], why={"sick": "vCenter alarm 'Datastore usage on disk' is red on it"})
    assert moid == "ds-1" and mark == "vCenter alarm 'Datastore usage on disk' is red on it"
    # a (50) to big (100 -> 50 left), b (30) to small (60, more room than big's 50), c (10) to big again
    assert [(v["name"], t) for v, t in moves] == [("a", "ds-2"), ("b", "ds-3"), ("c", "ds-2")]


def test_a_vm_on_two_datastores_at_risk_moves_once_and_a_marked_datastore_is_no_target():
    marked = store("ds-3", "marked", 900, marks=["at risk; since 09:12"])
    ev = estate([store("ds-1", "sick", 500), store("ds-2", "sick2", 500), marked, store("ds-4", "ok", 100)],
                [vm("a", ["ds-1", "ds-2"])])
    plans = ev.plan(["ds-1", "ds-2"])
    got = [(m, [(v["name"], t) for v, t in moves]) for m, moves, _mark in plans]
    assert got == [("ds-1", [("a", "ds-4")]), ("ds-2", [])]


@pytest.mark.parametrize("stores, seen, words", [
    ([store("ds-1", "sick", 500), store("ds-2", "full", 5)], ("ds-1", "ds-2"), "has 10.0 GB free; nothing was moved"),
    ([store("ds-1", "sick", 500), store("ds-2", "ok", 500)], ("ds-1",), "its host sees no other datastore"),
    ([store("ds-1", "sick", 500), store("ds-2", "ok", 500, maintenance="inMaintenance")], ("ds-1", "ds-2"), "out of maintenance"),
])
def test_a_vm_with_nowhere_to_go_is_refused_before_anything_moves(stores, seen, words):
    with pytest.raises(VSphereError, match=words):
        estate(stores, [vm("a", ["ds-1"])], seen=seen).plan(["ds-1"])


def test_a_name_two_datacenters_share_or_none_has_is_refused():
    ev = estate([store("ds-1", "LocalDS_0", 500), store("ds-9", "LocalDS_0", 500)], [])
    with pytest.raises(VSphereError, match="2 datastores are named 'LocalDS_0' in vCenter vc1 .* give its moid"):
        ev.plan(["LocalDS_0"])
    with pytest.raises(VSphereError, match="Datastore 'nope' not found in vCenter vc1"):
        ev.plan(["nope"])
