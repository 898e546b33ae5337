"""vm_mirror against the simulator: each level's observed state in vSphere, idempotence, check mode, bad input."""
from __future__ import annotations

import pytest
from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.modules import vm_mirror
from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_FPS, ATTR_LEVEL, ATTR_PRIMARY, ATTR_SINCE, ATTR_SYNCED_AT, MARKER_SYNCED_KEY)
from ansible_collections.predictive.mirroring.plugins.module_utils import mirror, vsphere

from common.utils import run_module

PARTIAL, FULL, MINIMAL = "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2"


def conn(sim):
    return {k: v for k, v in sim.connection().items() if k != "protocol"}


def observe(sim):
    """name -> (datacenter, power, cpu, memory, attributes, snapshot names) as vCenter reports them."""
    with vsphere.VSphere(**conn(sim)) as vs:
        rows = vs.virtual_machines()
        trees = {r["moid"]: r.get("snapshot") for r in vs.retrieve(vim.VirtualMachine, ["snapshot"])}
    out = {}
    for r in rows:
        snaps, stack = [], list(trees[r["moid"]].rootSnapshotList) if trees.get(r["moid"]) else []
        while stack:
            node = stack.pop()
            snaps.append(node.name)
            stack.extend(node.childSnapshotList or [])
        out[r["name"]] = {"dc": r["datacenter"], "power": r["power_state"], "cpu": r["num_cpu"], "mem": r["memory_mb"],
                          "attrs": r["attributes"], "snapshots": sorted(snaps), "uuid": r["instance_uuid"]}
    return out


def args(sim, **extra):
    base = dict(conn(sim), secondary_datacenter="DC1",
                vms=[{"name": PARTIAL, "level": "partial", "fps": 45.0}, {"name": FULL, "level": "full", "fps": 80.0},
                     {"name": MINIMAL, "level": "minimal", "fps": 3.0}])
    base.update(extra)
    return base


@pytest.fixture
def big_primaries(simulator):
    """Give the primaries a real size so a reduced standby differs from a full mirror."""
    with vsphere.VSphere(**conn(simulator)) as vs:
        for row in vs.virtual_machines():
            if row["name"].startswith("DC0_"):
                task = row["_ref"].ReconfigVM_Task(spec=vim.vm.ConfigSpec(numCPUs=4, memoryMB=8192))
                while task.info.state in ("queued", "running"):
                    pass
    return simulator


def test_each_level_is_held_in_vsphere_and_a_second_run_changes_nothing(big_primaries):
    sim = big_primaries
    result, failed = run_module(vm_mirror, args(sim))
    assert not failed, result["msg"] if failed else ""
    assert result["changed"]
    seen = observe(sim)
    part, full = seen[PARTIAL + "-mirror"], seen[FULL + "-mirror"]
    assert part["dc"] == "DC1" and part["power"] == "poweredOn" and (part["cpu"], part["mem"]) == (2, 4096)
    assert part["attrs"][ATTR_PRIMARY] == seen[PARTIAL]["uuid"] and part["attrs"][mirror.ATTR_ROLE] == "standby"
    assert full["dc"] == "DC1" and full["power"] == "poweredOn" and (full["cpu"], full["mem"]) == (4, 8192)
    assert full["attrs"][mirror.ATTR_ROLE] == "active"
    assert MINIMAL + "-mirror" not in seen
    for name, level in ((PARTIAL, "partial"), (FULL, "full"), (MINIMAL, "minimal")):
        attrs = seen[name]["attrs"]
        assert attrs[ATTR_LEVEL] == level and attrs[ATTR_SINCE] and attrs[ATTR_FPS]
        assert len(seen[name]["snapshots"]) == 1 and seen[name]["snapshots"][0].startswith(mirror.SNAPSHOT_PREFIX)
    again, failed = run_module(vm_mirror, args(sim))
    assert not failed and not again["changed"]
    assert observe(sim) == seen


def test_check_mode_reports_the_diff_and_changes_nothing(big_primaries):
    sim = big_primaries
    before = observe(sim)
    result, failed = run_module(vm_mirror, args(sim), check_mode=True)
    assert not failed and result["changed"]
    assert result["diff"]["before"][PARTIAL]["mirror"] is None
    assert result["diff"]["after"][PARTIAL]["mirror"]["num_cpu"] == 2
    assert result["diff"]["after"][FULL]["level"] == "full"
    assert observe(sim) == before


def test_level_changes_move_the_mirror(big_primaries):
    sim = big_primaries
    run_module(vm_mirror, args(sim))
    down = args(sim, vms=[{"name": FULL, "level": "partial", "fps": 50.0}, {"name": PARTIAL, "level": "minimal", "fps": 10.0}])
    result, failed = run_module(vm_mirror, down)
    assert not failed and result["changed"]
    seen = observe(sim)
    assert (seen[FULL + "-mirror"]["cpu"], seen[FULL + "-mirror"]["mem"]) == (2, 4096)
    assert seen[FULL + "-mirror"]["attrs"][mirror.ATTR_ROLE] == "standby"
    assert PARTIAL + "-mirror" not in seen  # deallocated
    # poweredoff instead of absent keeps a deallocated mirror, switched off
    result, failed = run_module(vm_mirror, args(sim, vms=[{"name": FULL, "level": "minimal"}], minimal_mirror="poweredoff"))
    assert not failed
    assert observe(sim)[FULL + "-mirror"]["power"] == "poweredOff"


def test_snapshot_retention_keeps_the_newest(big_primaries):
    sim = big_primaries
    for _i in range(4):  # interval 0: a snapshot every run
        result, failed = run_module(vm_mirror, args(sim, vms=[{"name": MINIMAL, "level": "minimal"}], snapshot_interval_hours=0,
                                                    snapshot_retention=2))
        assert not failed
    snaps = observe(sim)[MINIMAL]["snapshots"]
    assert len(snaps) == 2


@pytest.mark.parametrize("extra, words", [
    ({"secondary_datastore": "ds9"}, "Datastore 'ds9' not found in datacenter 'DC1'"),
    ({"secondary_datacenter": "DC7"}, "Secondary datacenter 'DC7' not found"),
    ({"secondary_network": "nowhere"}, "Network 'nowhere' not found in datacenter 'DC1'"),
    ({"secondary_folder": "no/such"}, "VM folder 'no/such' not found"),
])
def test_bad_placement_is_refused_before_anything_changes(simulator, extra, words):
    before = observe(simulator)
    result, failed = run_module(vm_mirror, args(simulator, **extra))
    assert failed and words in result["msg"]
    assert observe(simulator) == before


def test_unknown_vm_fails_without_stopping_the_others(simulator):
    batch = [{"name": "ghost", "level": "full"}, {"name": MINIMAL, "level": "minimal"}]
    result, failed = run_module(vm_mirror, args(simulator, vms=batch))
    assert failed and "ghost" in result["msg"] and "1 of 2" in result["msg"]
    assert observe(simulator)[MINIMAL]["attrs"][ATTR_LEVEL] == "minimal"


def test_a_vm_of_another_vcenter_fails_alone_and_changes_nothing(simulator):
    before = observe(simulator)
    uuid = before[FULL]["uuid"]
    batch = [{"uuid": uuid, "name": FULL, "vcenter": "vc2.example.com:443", "level": "full"},
             {"name": MINIMAL, "level": "minimal"}]
    result, failed = run_module(vm_mirror, args(simulator, vms=batch))
    assert failed and "is on vCenter vc2.example.com:443" in result["msg"] and "1 of 2" in result["msg"], result["msg"]
    after = observe(simulator)
    assert after[FULL] == before[FULL]  # not touched on the vCenter this call is connected to
    assert after[MINIMAL]["attrs"][ATTR_LEVEL] == "minimal"
    # the same VM named with this vCenter is held
    batch[0]["vcenter"] = "%s:%s" % (simulator.connection()["hostname"], simulator.connection()["port"])
    result, failed = run_module(vm_mirror, args(simulator, vms=batch[:1]))
    assert not failed, result


def test_a_mirror_left_without_its_attribute_is_adopted_not_duplicated(big_primaries):
    sim = big_primaries
    run_module(vm_mirror, args(sim, vms=[{"name": PARTIAL, "level": "partial"}]))
    with vsphere.VSphere(**conn(sim)) as vs:  # as if the session dropped before the attribute was written
        row = next(r for r in vs.virtual_machines() if r["name"] == PARTIAL + "-mirror")
        ref = row["_ref"]
        # the clone carries its image's time from its first moment, beside the primary's marker: a dead run's clone
        # adopted by a later run keeps its own age, not the later run's
        assert mirror.extra_config(ref, MARKER_SYNCED_KEY) == row["attributes"][ATTR_SYNCED_AT]
        vs.set_attribute(ref, ATTR_PRIMARY, "")
    result, failed = run_module(vm_mirror, args(sim, vms=[{"name": PARTIAL, "level": "partial"}]))
    assert not failed and result["vms"][0]["actions"] == ["adopt"]
    seen = observe(sim)
    assert [n for n in seen if n.startswith(PARTIAL + "-mirror")] == [PARTIAL + "-mirror"]
    assert seen[PARTIAL + "-mirror"]["attrs"][ATTR_PRIMARY] == seen[PARTIAL]["uuid"]


def test_someone_elses_vm_with_the_mirror_name_is_not_touched(simulator):
    with vsphere.VSphere(**conn(simulator)) as vs:
        stranger = next(v for v in vs.virtual_machines() if v["name"] == "DC1_C0_RP0_VM0")
        vs.wait_task(stranger["_ref"].Rename_Task(newName="DC0_C0_RP0_VM3-mirror"), "rename")
    before = observe(simulator)
    result, failed = run_module(vm_mirror, args(simulator, vms=[{"name": "DC0_C0_RP0_VM3", "level": "partial"}],
                                                secondary_datacenter="DC1"))
    assert failed and "is not a mirror of DC0_C0_RP0_VM3" in result["msg"]
    after = observe(simulator)
    assert after["DC0_C0_RP0_VM3-mirror"] == before["DC0_C0_RP0_VM3-mirror"]


def test_level_changes_are_recorded_in_the_history_store(big_primaries, tmp_path):
    from ansible_collections.predictive.mirroring.plugins.module_utils.history import History  # pylint: disable=import-outside-toplevel
    store = str(tmp_path / "history.sqlite")
    run_module(vm_mirror, args(big_primaries, history_path=store), check_mode=True)
    assert not (tmp_path / "history.sqlite").exists()
    run_module(vm_mirror, args(big_primaries, history_path=store))
    run_module(vm_mirror, args(big_primaries, history_path=store))  # no change, nothing recorded
    run_module(vm_mirror, args(big_primaries, history_path=store, vms=[{"name": FULL, "level": "partial", "fps": 60.0}]))
    with History(store) as h:
        got = [(d["vm"], d["level_from"], d["level_to"], d["fps"]) for d in h.decisions()]
    assert got == [(PARTIAL, None, "partial", 45.0), (FULL, None, "full", 80.0), (MINIMAL, None, "minimal", 3.0),
                   (FULL, "full", "partial", 60.0)]


OTHER = "DC0_C0_RP0_VM3"
RULES = [{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gateway": "10.2.0.1", "dns_servers": ["10.2.0.53"],
          "dns_domain": "dr.example"}]


def test_mirrors_come_up_re_ipd_on_the_mapped_network_and_an_uncovered_vm_is_refused_alone(simulator):
    """Issue 17: re-IP rules per subnet and network mapping, applied by guest customization before the mirror's first
    power-on and read back from what the guest reports."""
    sim = simulator
    for name, address in ((PARTIAL, "10.1.0.11"), (FULL, "10.1.0.12"), (OTHER, "10.9.0.4")):
        sim.set_guest_address(name, address)
    vms = [{"name": PARTIAL, "level": "partial"}, {"name": FULL, "level": "full"},
           {"name": MINIMAL, "level": "minimal"}, {"name": OTHER, "level": "partial"}]
    sim.add_port_group("DC1_C0_H0", "DR Network")
    mapped = {"VM Network": "DR Network"}
    result, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=RULES, network_map=mapped))
    assert failed and "1 of 4 VMs" in result["msg"], result
    assert "DC0_C0_RP0_VM3: address 10.9.0.4 of DC0_C0_RP0_VM3 (NIC 1) is in no re-IP rule's subnet (10.1.0.0/24)" \
        in result["msg"]
    seen = observe(sim)
    # the VM no rule covers: nothing of it changed (no snapshot, no mirror, no level); the others went on
    assert OTHER + "-mirror" not in seen and not seen[OTHER]["snapshots"] and ATTR_LEVEL not in seen[OTHER]["attrs"]
    for name, address in ((PARTIAL, "10.2.0.11"), (FULL, "10.2.0.12")):
        guest = sim.guest(name + "-mirror")
        assert guest == {"ip": address, "nics": [[address]], "networks": ["DR Network"], "pending": None}, (name, guest)
        assert seen[name + "-mirror"]["attrs"][mirror.ATTR_ADDRESSES] == address
        assert seen[name + "-mirror"]["power"] == "poweredOn"
        assert sim.guest(name)["ip"] == address.replace("10.2.", "10.1.")  # the primary keeps its own
    vms = vms[:3]
    again, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=RULES, network_map=mapped))
    assert not failed and not again["changed"], again
    # other rules: check mode says so and changes nothing; then the running mirror is re-IP'd in place
    moved = [dict(RULES[0], secondary="10.3.0.0/24", gateway="10.3.0.1")]
    checked, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=moved, network_map=mapped), check_mode=True)
    assert not failed and checked["changed"]
    by_name = {v["name"]: v for v in checked["vms"]}
    assert by_name[PARTIAL]["actions"] == ["reip", "power_on"] and by_name[PARTIAL]["mirror"]["addresses"] == "10.3.0.11"
    assert sim.guest(PARTIAL + "-mirror")["ip"] == "10.2.0.11" and observe(sim) == seen
    result, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=moved, network_map=mapped))
    assert not failed and result["changed"]
    assert sim.guest(PARTIAL + "-mirror")["ip"] == "10.3.0.11" and sim.guest(FULL + "-mirror")["ip"] == "10.3.0.12"
    after = observe(sim)
    assert after[PARTIAL + "-mirror"]["power"] == "poweredOn" and after[FULL + "-mirror"]["attrs"][mirror.ATTR_ADDRESSES] == "10.3.0.12"
    again, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=moved, network_map=mapped))
    assert not failed and not again["changed"]
    # a primary whose guest reports no address (down, or its tools stopped): its mirror keeps the addresses it has
    sim.set_guest_address(PARTIAL, "")
    again, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=moved, network_map=mapped))
    assert not failed and not again["changed"], again
    # a network_map target that datacenter DC1 does not have: refused before anything changes
    result, failed = run_module(vm_mirror, args(sim, vms=vms, reip_rules=moved, network_map={"VM Network": "DR Net"}))
    assert failed and "network_map maps 'VM Network' to 'DR Net', which datacenter 'DC1' does not have" in result["msg"]
    assert observe(sim) == after
