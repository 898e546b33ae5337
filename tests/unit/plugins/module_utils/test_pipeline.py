"""The inventory's decisions as plain data (pipeline.inventory_hosts): no Ansible, no simulator, no model."""
from __future__ import annotations

import datetime

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_PRIMARY, ATTR_QUARANTINED, ATTR_ROLE, ATTR_SYNCED_AT)
from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import GROUPS, inventory_hosts
from ansible_collections.predictive.mirroring.plugins.module_utils.policy import Policy

NOW = datetime.datetime(2026, 12, 6, 12, 0, tzinfo=datetime.timezone.utc)
PEERS = ("host_error_events", "host_peers_cpu_ready_dev", "host_peers_disk_latency_dev")


def vm(name, moid, cluster="C0", host="H0", attributes=None, vcenter="vc1"):
    return {"name": name, "moid": moid, "instance_uuid": "uuid-" + moid, "power_state": "poweredOn",
            "datastores": [{"name": "DS-" + host, "alarms": []}],
            "datacenter": "DC0", "cluster": cluster, "host": host, "folder": "vm", "num_cpu": 2, "memory_mb": 4096,
            "attributes": dict(attributes or {}), "host_overall_status": "green", "host_connection_state": "connected",
            "vcenter": vcenter, "vcenter_instance_uuid": "vc-uuid"}


def scored(row, fps, level=None, gap=None, **features):
    feats = dict.fromkeys(PEERS, 0.0)
    feats.update(features)
    return {"vm": row, "fps": fps, "fps_reasons": ["why"], "fps_missing": [], "fps_confidence": 1.0,
            "telemetry_gap": gap, "features": feats, "level": level or Policy().band(fps), "level_current": None,
            "level_why": "band", "below_since": None, "since": None, "depends_on": []}


def fleet(*hot, size=10, cluster="C0"):
    """`size` VMs of one cluster on hosts of three VMs each; the given (index, fps, extras) are hot."""
    rows = [scored(vm("vm%02d" % i, "vm-%d" % i, cluster=cluster, host="H%d" % (i // 3)), 5.0) for i in range(size)]
    for i, fps, extra in hot:
        rows[i] = scored(rows[i]["vm"], fps, **extra)
    return rows


def by_name(hosts):
    return {h["name"]: h for h in hosts}


def test_a_vm_past_the_threshold_fails_over_and_every_host_is_in_one_level_group():
    hosts, why = inventory_hosts(fleet((4, 92.0, {})), [], Policy(), now=NOW)
    got = by_name(hosts)
    assert why is None
    assert got["vm04"]["groups"] == ["fps_full", "failover_now"]
    assert got["vm04"]["vars"]["failover_refused_why"] is None
    assert all(len([g for g in h["groups"] if g.startswith("fps_")]) == 1 for h in hosts)
    assert {g for h in hosts for g in h["groups"]} <= set(GROUPS)
    assert got["vm00"]["groups"] == ["fps_minimal"] and got["vm00"]["vars"]["vm_instance_uuid"] == "uuid-vm-0"


def test_too_many_at_once_are_all_refused_for_the_blast_radius():
    hosts, why = inventory_hosts(fleet((0, 90.0, {}), (4, 91.0, {}), (8, 95.0, {})), [], Policy(), now=NOW)
    got = by_name(hosts)
    assert "blast-radius" in why
    for name in ("vm00", "vm04", "vm08"):
        assert "failover_refused" in got[name]["groups"] and "failover_now" not in got[name]["groups"]
        assert got[name]["vars"]["failover_refused_reason"] == "blast_radius"


def test_quarantined_gap_and_host_cause_are_not_failed_over_yet_still_counted():
    rows = fleet((1, 96.0, {}), (4, 95.0, {"gap": "disk latency gave nothing"}), (9, 93.0, {}))
    rows[1]["vm"]["attributes"][ATTR_QUARANTINED] = "2026-12-06T10:00:00+00:00"
    # every VM of H2 (vm06..vm08) drifts together: the cause is the host
    for i in (6, 7, 8):
        rows[i]["features"]["host_peers_disk_latency_dev"] = 6.0
    rows[7] = dict(rows[7], fps=97.0, level="full")
    hosts, why = inventory_hosts(rows, [], Policy(), now=NOW)
    got = by_name(hosts)
    assert why is None
    assert "quarantined" in got["vm01"]["groups"] and "failover_now" not in got["vm01"]["groups"]
    assert got["vm04"]["vars"]["failover_refused_reason"] == "telemetry_gap"
    assert {"telemetry_gap", "failover_refused"} <= set(got["vm04"]["groups"])
    assert "host_at_risk" in got["vm07"]["groups"] and "failover_now" not in got["vm07"]["groups"]
    assert "disk latency drifts together" in got["vm07"]["vars"]["host_at_risk_why"]
    assert got["vm09"]["groups"] == ["fps_full", "failover_now"]


def test_namesakes_are_two_hosts_and_each_is_paired_with_its_own_mirror_by_uuid():
    a = vm("web01", "vm-1", vcenter="vc1")
    b = vm("web01", "vm-1", vcenter="vc2")
    b["instance_uuid"] = "uuid-other"
    serving = vm("web01-mirror", "vm-50", attributes={ATTR_PRIMARY: "uuid-other", ATTR_ROLE: "standby",
                                                      ATTR_SYNCED_AT: "2026-12-06T11:00:00+00:00"}, vcenter="vc2")
    refreshing = vm("web01-mirror.refresh", "vm-51", attributes={ATTR_PRIMARY: "uuid-other", ATTR_ROLE: "refreshing"},
                    vcenter="vc2")
    hosts, why = inventory_hosts([scored(a, 10.0), scored(b, 50.0)], [serving, refreshing], Policy(), now=NOW)
    names = [h["name"] for h in hosts]
    assert why is None and len(set(names)) == 4 and names[0] == "web01" and names[1].startswith("web01_")
    first, second = hosts[0]["vars"], hosts[1]["vars"]
    assert first["mirror_name"] is None and first["vcenter"] == "vc1"
    assert second["mirror_name"] == "web01-mirror" and second["mirror_age_seconds"] == 3600.0
    mirrors = [h for h in hosts if h["groups"] == ["mirrors"]]
    assert [m["vars"]["mirror_of"] for m in mirrors] == ["uuid-other", "uuid-other"]


def test_a_future_synced_at_is_an_unknown_age_and_data_status_is_per_vcenter_and_uuid():
    primary = vm("db01", "vm-7")
    mirror = vm("db01-mirror", "vm-8", attributes={ATTR_PRIMARY: "uuid-vm-7", ATTR_ROLE: "standby",
                                                   ATTR_SYNCED_AT: "2026-12-07T12:00:00+00:00"})
    status = {("vc1", "uuid-vm-7"): {"postgresql": {"lag_seconds": 2.5, "rpo_seconds": 14400}},
              ("vc2", "uuid-vm-7"): {"postgresql": {"lag_seconds": 999, "rpo_seconds": 1}}}
    hosts, why = inventory_hosts([scored(primary, 40.0)], [mirror], Policy(), now=NOW, data_status=status,
                                 expose_features=True)
    hv = hosts[0]["vars"]
    assert why is None
    assert hv["mirror_name"] == "db01-mirror" and hv["mirror_age_seconds"] is None
    assert hv["data_lag_seconds"] == {"postgresql": 2.5} and hv["data_rpo_seconds"] == {"postgresql": 14400}
    assert hv["fps_features"]["host_error_events"] == 0.0
    assert hosts[0]["groups"] == ["fps_partial"]


def test_the_cause_on_a_datastore_or_a_hosts_red_alarm_is_not_failed_over():
    rows = fleet((1, 95.0, {}), (4, 94.0, {}), size=12)
    # vm00, vm09, vm10 and vm11 share DS-shared: the disk latency of vm09..vm11 drifts together
    for i in (0, 9, 10, 11):
        rows[i]["vm"]["datastores"] = [{"name": "DS-shared", "alarms": []}]
        rows[i]["features"]["disk_latency_dev"] = 7.0 if i != 0 else 4.0
    rows[10] = dict(rows[10], fps=96.0, level="full")
    # vm01's host has a red vCenter alarm
    for i in (0, 1, 2):
        rows[i]["vm"]["host_alarms"] = [{"name": "Host hardware fan status", "status": "red", "since": None}]
    # vm04's datastore has a red alarm
    usage = {"name": "Datastore usage on disk", "status": "red", "since": None}
    rows[4]["vm"]["datastores"] = [{"name": "DS-H1", "alarms": [usage]}]
    hosts, why = inventory_hosts(rows, [], Policy(max_failovers=5, max_failover_cluster_pct=100), now=NOW)
    got = by_name(hosts)
    assert why is None
    assert "host_at_risk" in got["vm01"]["groups"] and "failover_now" not in got["vm01"]["groups"]
    assert "vCenter alarm 'Host hardware fan status' is red on it" in got["vm01"]["vars"]["host_at_risk_why"]
    # the host explains vm00; its datastore's drift is left to the host's evacuation
    assert "host_at_risk" in got["vm00"]["groups"] and "datastore_at_risk" not in got["vm00"]["groups"]
    assert "datastore_at_risk" in got["vm10"]["groups"] and "failover_now" not in got["vm10"]["groups"]
    assert got["vm10"]["vars"]["datastore_at_risk_why"].startswith(
        "datastore DS-shared: its VMs' disk latency drifts together (median 7.0σ")
    assert "datastore DS-H1: vCenter alarm 'Datastore usage on disk' is red on it" == \
        got["vm04"]["vars"]["datastore_at_risk_why"]
    # vm03 and vm05 share DS-H1 with vm04: the datastore's alarm is theirs too
    assert all("datastore_at_risk" in got[n]["groups"] for n in ("vm03", "vm05"))
    assert got["vm10"]["vars"]["datastores"] == ["DS-shared"]
    assert not [h for h in hosts if "failover_now" in h["groups"]]


def test_datastores_of_one_name_in_two_datacenters_are_two_peer_groups():
    """Names repeat (each datacenter may have a LocalDS_0): a red alarm on one is not the other's."""
    rows = fleet(size=6)
    alarm = [{"name": "Datastore usage on disk", "status": "red", "since": None}]
    for i, row in enumerate(rows):
        row["vm"]["datastores"] = [{"name": "LocalDS_0", "moid": "datastore-%d" % (1 if i < 3 else 2),
                                    "alarms": alarm if i < 3 else []}]
    hosts, why = inventory_hosts(rows, [], Policy(), now=NOW)
    got = by_name(hosts)
    assert why is None
    assert [n for n in sorted(got) if "datastore_at_risk" in got[n]["groups"]] == ["vm00", "vm01", "vm02"]


def test_an_applications_fps_is_its_riskiest_members_with_its_reasons():
    from ansible_collections.predictive.mirroring.plugins.module_utils.pipeline import applications  # pylint: disable=import-outside-toplevel
    reason = [{"feature": "disk_latency_ms_mean", "text": "disk latency 140 ms"}]
    got = applications([{"name": "web01", "fps": 12.0, "app": "shop"}, {"name": "db01", "fps": 81.5, "app": "shop",
                                                                        "fps_reasons": reason},
                        {"name": "lone", "fps": 99.0, "app": None}, {"name": "b", "fps": 40.0, "app": "crm"},
                        {"name": "a", "fps": 40.0, "app": "crm"}])
    assert got == {"shop": {"fps": 81.5, "riskiest": "db01", "members": ["db01", "web01"], "reasons": reason},
                   "crm": {"fps": 40.0, "riskiest": "a", "members": ["a", "b"], "reasons": []}}


def test_a_host_at_risk_in_one_vcenter_does_not_hold_back_a_namesake_host_of_another():
    # two vCenters, each with an ESXi host named H0 (moid host-1 in both): vc1's is red, vc2's VM must fail over
    red = dict(vm("web01", "vm-1", host="H0", vcenter="vc1"), host_moid="host-1", host_overall_status="red")
    other = dict(vm("db01", "vm-1b", host="H0", vcenter="vc2"), host_moid="host-1")
    hosts, _why = inventory_hosts([scored(red, 20.0), scored(other, 95.0)], [],
                                  Policy(max_failovers=5, max_failover_cluster_pct=100), now=NOW)
    got = by_name(hosts)
    assert "host_at_risk" in got["web01"]["groups"] and got["web01"]["vars"]["host_at_risk_why"] == "host H0: its health is red"
    assert "host_at_risk" not in got["db01"]["groups"] and "failover_now" in got["db01"]["groups"]
