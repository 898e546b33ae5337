"""Issue 17, applications: VMs that make one service (custom attribute mirroring.app) are held at one level, the
riskiest member's, through ansible-inventory and reconcile on the simulator."""
from __future__ import annotations

import json

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_APP, ATTR_DEPENDS_ON, ATTR_LEVEL, ATTR_PRIMARY, ATTR_QUARANTINED)
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from rig.inventory import inventory
from rig.play import run_playbook

DEMO = "inventories/demo/demo.vsphere_fps.yml"
DB, WEB, LONE = "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"


def conn(sim):
    return {k: v for k, v in sim.connection().items() if k != "protocol"}


def test_an_application_is_held_at_its_riskiest_members_level(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    simulator.set_scenario(DB, "degrading_disk", 0.29, seed=7)  # the database tier's disk is failing (FPS ~46)
    with vsphere.VSphere(**conn(simulator)) as vs:
        rows = {vm["name"]: vm for vm in vs.virtual_machines()}
        for name in (DB, WEB):
            vs.set_attribute(rows[name]["_ref"], ATTR_APP, "shop")
        vs.set_attribute(rows[WEB]["_ref"], ATTR_DEPENDS_ON, DB)  # the web tier needs the database

    inv = inventory(simulator, DEMO)
    hv = inv["_meta"]["hostvars"]
    assert sorted(inv["app_shop"]["hosts"]) == [DB, WEB]
    # the web tier is healthy, and decided on its application's FPS: the database's
    assert hv[DB]["mirroring_level"] in ("partial", "full") and hv[WEB]["mirroring_level"] == hv[DB]["mirroring_level"]
    assert hv[WEB]["mirroring_level_why"].startswith("application shop, by its riskiest member %s: FPS" % DB)
    assert hv[LONE]["mirroring_level"] == "minimal"
    for name in (DB, WEB):  # the application's FPS is its riskiest member's
        assert hv[name]["mirroring_app"] == "shop" and hv[name]["mirroring_app_riskiest"] == DB
        assert hv[name]["mirroring_app_fps"] == hv[DB]["fps"] > hv[WEB]["fps"]
    assert hv[LONE]["mirroring_app"] is None and hv[LONE]["mirroring_app_fps"] is None

    store = str(tmp_path / "history.sqlite")
    extra = ("-e", "mirroring_history_path=%s" % store, "-e", "mirroring_report_dir=%s" % (tmp_path / "report"))
    stats, tasks = run_playbook(simulator, "reconcile", DEMO, *extra, workdir=str(tmp_path))
    assert stats["failures"] == 0
    plan = {p["name"]: p for p in tasks["Plan each VM's level (cost optimizer, exact)"]["vms"]}
    level = plan[DB]["level"]
    assert level in ("partial", "full") and plan[WEB]["level"] == level and plan[LONE]["level"] == "minimal"
    with vsphere.VSphere(**conn(simulator)) as vs:  # both tiers have a mirror, held at the application's level
        seen = vs.virtual_machines()
    mirrors = sorted(vm["attributes"][ATTR_PRIMARY] for vm in seen if vm["attributes"].get(ATTR_PRIMARY))
    attrs = {vm["name"]: vm["attributes"] for vm in seen}
    assert mirrors == sorted(rows[n]["instance_uuid"] for n in (DB, WEB))
    assert attrs[DB][ATTR_LEVEL] == attrs[WEB][ATTR_LEVEL] == level
    stats, tasks = run_playbook(simulator, "reconcile", DEMO, *extra, workdir=str(tmp_path))
    changed = [(t, [v for v in r.get("vms", []) if v.get("changed")]) for t, r in tasks.items() if r.get("changed")]
    assert stats["changed"] == 0 and stats["failures"] == 0, json.dumps(changed, default=str)[:6000]

    # a drill of the database drills its application whole, as it would fail over: the copies come up in dependency
    # order and are up together (the database's first), then come down in reverse order; production is untouched
    def production():
        with vsphere.VSphere(**conn(simulator)) as vs:
            return {vm["name"]: (vm["power_state"], vm["attributes"]) for vm in vs.virtual_machines()}
    before = production()
    stats, tasks = run_playbook(simulator, "drill", DEMO, "-e", "mirroring_drill_hosts=" + DB, *extra,
                                workdir=str(tmp_path))
    assert stats["failures"] == 0
    plan = next(r for t, r in tasks.items() if t.startswith("Their applications' members and the dependency order"))
    assert plan["order"] == [DB, WEB]
    assert production() == before
    with History(path=store) as h:
        steps = [(a["vm"], a["action"], a["status"]) for a in h.actions() if a["action"].startswith("drill_")]
        assert steps == [(DB, "drill_up", "done"), (WEB, "drill_up", "done"), (WEB, "drill_down", "done"),
                         (DB, "drill_down", "done")], steps
        assert sorted(f["vm"] for f in h.failovers(kind="drill")) == [DB, WEB]
    # a copy that does not come up (its clone fails) stops the drill there and the run fails naming it; the database's
    # copy, already up, still comes down; production untouched
    web_mirror = next(n for n, (_power, a) in before.items() if a.get(ATTR_PRIMARY) == rows[WEB]["instance_uuid"])
    simulator.fail_clones_of(web_mirror, "the datastore is full")
    try:
        out = run_playbook(simulator, "drill", DEMO, "-e", "mirroring_drill_hosts=" + DB, *extra, workdir=str(tmp_path),
                           ok=False)
    finally:
        simulator.fail_clones_of(web_mirror, clear=True)
    assert "Drill of %s stopped" % WEB in " ".join(out.split()), out[-3000:]
    assert production() == before
    with History(path=store) as h:
        steps = [(a["vm"], a["action"], a["status"]) for a in h.actions() if a["action"].startswith("drill_")][4:]
        assert steps == [(DB, "drill_up", "done"), (WEB, "drill_up", "failed"), (DB, "drill_down", "done")], steps
        assert h.runs_summary()["drill"]["status"] == "failed"

    # the database is failed over (named, as an operator or failover_now would): its application goes with it, the
    # database first; the VM outside the application stays where it is
    # hooks before and after each VM's failover, on the controller, in the failover's order
    log = tmp_path / "hooks.log"
    for when in ("before", "after"):
        (tmp_path / ("%s.yml" % when)).write_text(
            "- name: Tell the application team\n  ansible.builtin.shell: echo %s {{ inventory_hostname }} >> %s\n"
            "  changed_when: false\n" % (when, log))
    hooks = ("-e", "mirroring_failover_hook_before=%s" % (tmp_path / "before.yml"),
             "-e", "mirroring_failover_hook_after=%s" % (tmp_path / "after.yml"))
    stats, tasks = run_playbook(simulator, "failover", DEMO, "-e", "mirroring_failover_hosts=" + DB, *hooks, *extra,
                                workdir=str(tmp_path))
    assert stats["failures"] == 0
    assert log.read_text().split("\n")[:4] == ["before " + DB, "after " + DB, "before " + WEB, "after " + WEB]
    plan = tasks["Blast-radius limit and dependency order"]
    assert plan["order"] == [DB, WEB]
    assert plan["added"] == [{"name": WEB, "why": "application shop fails over with %s" % DB, "follows": DB}]
    with vsphere.VSphere(**conn(simulator)) as vs:
        attrs = {vm["name"]: vm["attributes"] for vm in vs.virtual_machines()}
    assert attrs[DB].get(ATTR_QUARANTINED) and attrs[WEB].get(ATTR_QUARANTINED) and not attrs[LONE].get(ATTR_QUARANTINED)

    # failing the database back brings its application back with it
    stats, _tasks = run_playbook(simulator, "failback", DEMO, "-e", "mirroring_failback_hosts=" + DB, *extra,
                                 workdir=str(tmp_path))
    assert stats["failures"] == 0
    with vsphere.VSphere(**conn(simulator)) as vs:
        attrs = {vm["name"]: vm["attributes"] for vm in vs.virtual_machines()}
    assert not attrs[DB].get(ATTR_QUARANTINED) and not attrs[WEB].get(ATTR_QUARANTINED)

    # a hook that runs out of time stops the plan at that step and says which: the database (first) failed over, the
    # web tier untouched, the run recorded as failed; the same command again, without the slow hook, carries on
    slow = tmp_path / "slow.yml"
    slow.write_text("- name: Wait for the application team\n  ansible.builtin.command: sleep 30\n  changed_when: false\n"
                    "  when: inventory_hostname == '%s'\n" % WEB)
    out = run_playbook(simulator, "failover", DEMO, "-e", "mirroring_failover_hosts=" + DB, "-e",
                       "mirroring_failover_hook_before=%s" % slow, "-e", "mirroring_failover_hook_timeout=3", *extra,
                       workdir=str(tmp_path), ok=False)
    stopped = " ".join(out.split())
    assert ('Fail over of %s stopped at the hook before the failover (%s), task "Wait for the application team"'
            % (WEB, slow)) in stopped and "Timed out after 3 second(s)" in stopped, stopped[-3000:]
    assert "failed for plugin" not in stopped  # the test's own callback took the failure too
    with vsphere.VSphere(**conn(simulator)) as vs:
        attrs = {vm["name"]: vm["attributes"] for vm in vs.virtual_machines()}
    assert attrs[DB].get(ATTR_QUARANTINED) and not attrs[WEB].get(ATTR_QUARANTINED)
    with History(path=store) as h:
        assert [f["vm"] for f in h.failovers()][-1] == DB
        assert len(h.failovers(vm=WEB, kind="predictive")) == 1  # the first run's only
        assert h.runs_summary()["failover"]["status"] == "failed"
    stats, tasks = run_playbook(simulator, "failover", DEMO, "-e", "mirroring_failover_hosts=" + DB, *extra,
                                workdir=str(tmp_path))
    assert stats["failures"] == 0
    with vsphere.VSphere(**conn(simulator)) as vs:
        attrs = {vm["name"]: vm["attributes"] for vm in vs.virtual_machines()}
    assert attrs[DB].get(ATTR_QUARANTINED) and attrs[WEB].get(ATTR_QUARANTINED)
    with History(path=store) as h:
        # the database not failed over twice
        assert len(h.failovers(vm=DB, kind="predictive")) == 2 and len(h.failovers(vm=WEB, kind="predictive")) == 2
