"""A mirror's image is held within its RPO: a stale mirror is rebuilt beside the old one and swapped in, the old one
serving until the swap; a fault between "new image built" and the swap is completed by the next run."""
from __future__ import annotations

import datetime
import os

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_PRIMARY, ATTR_SYNCED_AT
from ansible_collections.predictive.mirroring.plugins.module_utils import mirror, vsphere
from ansible_collections.predictive.mirroring.plugins.modules import vm_mirror

from common.utils import run_module
from rig.simulator import Simulator

try:
    from pyVmomi import vim
except ImportError:
    pass


def observe(conn, uuid):
    """Every VM of DC1 that carries this primary's marker or attribute: name, moid, attributes, power, NICs."""
    with vsphere.VSphere(**conn) as vs:
        out = []
        for row in vs.virtual_machines():
            if row["datacenter"] != "DC1":
                continue
            ref = row["_ref"]
            if row["attributes"].get(ATTR_PRIMARY) != uuid and mirror.marker_of(ref) != uuid:
                continue
            nics = [bool(d.connectable and d.connectable.connected) for d in ref.config.hardware.device
                    if isinstance(d, vim.vm.device.VirtualEthernetCard)]
            out.append({"name": row["name"], "moid": row["moid"], "power_state": row["power_state"],
                        "role": row["attributes"].get(mirror.ATTR_ROLE),
                        "primary": row["attributes"].get(ATTR_PRIMARY),
                        "synced_at": row["attributes"].get(ATTR_SYNCED_AT),
                        "num_cpu": row["num_cpu"], "memory_mb": row["memory_mb"], "nics_connected": nics})
        return sorted(out, key=lambda r: r["name"])


def age_the_image(conn, moid, hours):
    """What the passing of time does to a mirror: its mirroring.synced_at lies `hours` back."""
    then = (vsphere.now() - datetime.timedelta(hours=hours)).replace(microsecond=0).isoformat()
    with vsphere.VSphere(**conn) as vs:
        ref = next(r["_ref"] for r in vs.virtual_machines() if r["moid"] == moid)
        vs.set_attribute(ref, ATTR_SYNCED_AT, then)
    return then


def test_a_stale_mirror_is_refreshed_beside_the_old_one_and_a_fault_before_the_swap_is_completed_next_run(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), vms=2)
    os.makedirs(sim.workdir)
    sim.start()
    try:
        conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            primary = sorted((v for v in vs.virtual_machines() if v["datacenter"] == "DC0"), key=lambda v: v["name"])[0]
        uuid = primary["instance_uuid"]
        args = dict(conn, uuid=uuid, name=primary["name"], level="partial", secondary_datacenter="DC1")

        result, failed = run_module(vm_mirror, args)
        assert not failed, result
        [first] = observe(conn, uuid)
        assert first["name"] == primary["name"] + "-mirror" and first["role"] == "standby" and first["primary"] == uuid
        assert first["synced_at"] and result["vms"][0]["mirror_age_seconds"] < 60
        assert result["vms"][0]["image_rpo_seconds"] == 24 * 3600

        # inside the RPO: nothing to do
        result, failed = run_module(vm_mirror, args)
        assert not failed and not result["changed"], result
        assert observe(conn, uuid) == [first]

        # 25 hours later (the partial image RPO is a day): check mode says it would refresh, and changes nothing
        stale = age_the_image(conn, first["moid"], 25)
        result, failed = run_module(vm_mirror, args, check_mode=True)
        assert not failed and result["changed"] and "refresh" in result["vms"][0]["actions"], result
        assert result["diff"]["before"][primary["name"]]["mirror"]["age_seconds"] >= 25 * 3600 - 60
        assert result["diff"]["after"][primary["name"]]["mirror"]["age_seconds"] == 0.0
        assert observe(conn, uuid) == [dict(first, synced_at=stale)]

        # a fault between "new image built" and the swap: the old mirror's NICs cannot be disconnected
        sim.fail_method(first["moid"], "ReconfigVM_Task", "injected: the old mirror's host stopped answering")
        result, failed = run_module(vm_mirror, args)
        assert failed and [f["name"] for f in result["failed_vms"]] == [primary["name"]]
        assert "injected" in result["failed_vms"][0]["msg"]
        rows = {r["moid"]: r for r in observe(conn, uuid)}
        assert len(rows) == 2
        old = rows.pop(first["moid"])
        [new] = rows.values()
        # the old mirror still serves, untouched; the new image waits beside it, off the network, not serving
        assert old == dict(first, synced_at=stale)
        assert new["name"] == primary["name"] + "-mirror.refresh" and new["role"] == "refreshing"
        assert new["nics_connected"] and not any(new["nics_connected"])
        assert new["power_state"] == "poweredOn" and new["synced_at"] > stale
        serving = [r for r in observe(conn, uuid) if r["role"] in ("active", "standby")]
        assert [r["moid"] for r in serving] == [first["moid"]]

        # the next run completes the swap: exactly one mirror, newer, same role and attributes, the old one gone
        sim.fail_method(first["moid"], "ReconfigVM_Task", clear=True)
        result, failed = run_module(vm_mirror, args)
        assert not failed and result["changed"] and "swap" in result["vms"][0]["actions"], result
        [after] = observe(conn, uuid)
        assert after["moid"] == new["moid"] and after["moid"] != first["moid"]
        assert after["name"] == first["name"] and after["role"] == "standby" and after["primary"] == uuid
        assert after["synced_at"] == new["synced_at"] > stale
        assert (after["num_cpu"], after["memory_mb"], after["power_state"]) == \
            (first["num_cpu"], first["memory_mb"], "poweredOn")
        assert after["nics_connected"] and all(after["nics_connected"])

        # and then nothing more to do
        result, failed = run_module(vm_mirror, args)
        assert not failed and not result["changed"], result
        assert observe(conn, uuid) == [after]

        # a whole refresh in one run, with no fault: same outcome, one mirror, the old one removed
        age_the_image(conn, after["moid"], 25)
        result, failed = run_module(vm_mirror, args)
        assert not failed and result["vms"][0]["actions"].count("refresh") == 1, result
        [again] = observe(conn, uuid)
        assert again["moid"] != after["moid"] and again["name"] == first["name"] and again["role"] == "standby"
        assert again["synced_at"] > stale and all(again["nics_connected"])

        # a per-VM RPO: an hour-old image is fresh for the level's 24 h, stale for this VM's own 30 minutes
        age_the_image(conn, again["moid"], 1)
        result, failed = run_module(vm_mirror, args)
        assert not failed and not result["changed"], result
        batch = dict(conn, vms=[{"uuid": uuid, "name": primary["name"], "level": "partial", "image_rpo_seconds": 1800}],
                     secondary_datacenter="DC1")
        result, failed = run_module(vm_mirror, batch, check_mode=True)
        assert not failed and "refresh" in result["vms"][0]["actions"] and result["vms"][0]["image_rpo_seconds"] == 1800

        # bad input changes nothing
        for bad in ({"partial": 10}, {"minimal": 3600}, {"full": "soon"}):
            result, failed = run_module(vm_mirror, dict(args, image_rpo_seconds=bad))
            assert failed and "image_rpo_seconds" in result["msg"], result
        assert [r["moid"] for r in observe(conn, uuid)] == [again["moid"]]
    finally:
        sim.stop()


def test_a_fault_while_removing_the_old_image_is_converged_by_one_run(tmp_path):
    # issue 33: the run after the fault removed the old image but left the new one named ...-mirror.refresh
    sim = Simulator(workdir=str(tmp_path / "sim"), vms=2)
    os.makedirs(sim.workdir)
    sim.start()
    try:
        conn = {k: v for k, v in sim.connection().items() if k != "protocol"}
        with vsphere.VSphere(**conn) as vs:
            primary = sorted((v for v in vs.virtual_machines() if v["datacenter"] == "DC0"), key=lambda v: v["name"])[0]
        uuid = primary["instance_uuid"]
        args = dict(conn, uuid=uuid, name=primary["name"], level="partial", secondary_datacenter="DC1")
        result, failed = run_module(vm_mirror, args)
        assert not failed, result
        [first] = observe(conn, uuid)
        age_the_image(conn, first["moid"], 25)
        sim.fail_method(first["moid"], "Destroy_Task", "injected: the old image cannot be removed now")
        result, failed = run_module(vm_mirror, args)
        assert failed and "injected" in result["failed_vms"][0]["msg"], result
        rows = {r["moid"]: r for r in observe(conn, uuid)}
        assert len(rows) == 2 and rows[first["moid"]]["role"] == "retired"
        [new] = [r for m, r in rows.items() if m != first["moid"]]
        assert new["role"] == "standby" and new["primary"] == uuid  # the new image serves already

        sim.fail_method(first["moid"], "Destroy_Task", clear=True)
        result, failed = run_module(vm_mirror, args)
        assert not failed and result["changed"], result
        # one run: the old image gone and the new one under the mirror's own name
        [after] = observe(conn, uuid)
        assert after["moid"] == new["moid"] and after["name"] == first["name"] and after["role"] == "standby"
        result, failed = run_module(vm_mirror, args)
        assert not failed and not result["changed"], result
    finally:
        sim.stop()
