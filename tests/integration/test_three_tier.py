"""Issue 17's acceptance: a three-tier application (web, app and PostgreSQL database VMs; both web tiers behind HAProxy,
the web tier's name in BIND) fails over predictively as a whole, in dependency order, under steady HTTP load through
the name and committed writes, with nothing lost; its mirrors carry the re-IP'd addresses; failback returns it all;
a drill of the whole application leaves production as it was. Every part is real: the simulator, HAProxy, PostgreSQL,
BIND 9 - and the clients resolve the name through BIND as a caching resolver does."""
from __future__ import annotations

import json
import time

import psycopg
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_LEVEL, ATTR_QUARANTINED
from ansible_collections.predictive.mirroring.plugins.module_utils import fleet
from rig.load import HttpLoad, Writer
from rig.tiers import NAME, ZONE, ThreeTier, mirror_address, primary_address

DB, APP, WEB = "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"
FQDN = "%s.%s." % (NAME, ZONE)
TTL = {"minimal": 3600, "partial": 300, "full": 5}  # full: the inventory's mirroring_dns_ttl_by_level


@pytest.mark.timeout(1200)
def test_a_three_tier_application_fails_over_predictively_whole_and_comes_back(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    tiers = ThreeTier(simulator, tmp_path, DB, APP, WEB)
    try:
        three_tiers(tiers, tmp_path)
    finally:
        tiers.close()


def three_tiers(tiers, tmp_path):
    bind, sim = tiers.bind, tiers.sim
    web_was, web_now = primary_address(13), mirror_address(13)
    # healthy: minimal, no mirror, the name on the web VM's address with an hour's TTL
    tiers.playbook("reconcile")
    assert bind.served(FQDN) == ([web_was], 3600)
    assert tiers.pools() == {"web": {WEB: ("ready", 100)}, "app": {APP: ("ready", 100)}}

    # the database's disk is failing: its application rises with it, all three tiers at its level, each
    # mirror re-IP'd by its rule (10.1.0.0/24 -> 10.2.0.0/24); the name's TTL falls with the level
    tiers.degrade(0.28)
    tiers.playbook("reconcile")
    vms = tiers.vms()
    level = vms[DB]["attributes"][ATTR_LEVEL]
    assert level in ("partial", "full") and all(vms[vm]["attributes"][ATTR_LEVEL] == level for vm in (APP, WEB))
    assert bind.served(FQDN) == ([web_was], TTL[level])
    for vm, n in ((DB, 11), (APP, 12), (WEB, 13)):
        assert sim.guest(vm + "-mirror")["ip"] == mirror_address(n), vm
        assert sim.guest(vm)["ip"] == primary_address(n), vm
    with psycopg.connect(tiers.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    # a drill of the database drills its application whole, in dependency order; production is left as it was
    with psycopg.connect(tiers.db.dsn, autocommit=True) as c:
        c.execute("INSERT INTO ledger SELECT generate_series(1, 100)")
    time.sleep(1)
    before = tiers.production()
    out = tiers.playbook("drill", "-e", "mirroring_drill_hosts=" + DB)
    plan = next(r for t, r in tiers.results.items() if t.startswith("Their applications' members and the dependency order"))
    assert plan["localhost"]["order"] == [DB, APP, WEB], plan
    assert '"data_check": "100"' in out  # the database's copy answered with the replicated rows
    assert tiers.production() == before
    assert sorted(f["vm"] for f in tiers.failovers() if f["kind"] == "drill") == [DB, APP, WEB]
    assert bind.served(FQDN) == ([web_was], TTL[level])  # a drill moves no name

    # under load: clients of the app tier and committed writes to the database; then clients that find the web tier
    # by its name (re-resolved as the TTL says)
    app_load = HttpLoad(tiers.ha.frontends["app"], clients=2).start()
    web_load = HttpLoad(clients=3, resolve=lambda: resolve(bind), routes=tiers.routes)
    writer = Writer(tiers.writer_dsn()).start()
    hooks = tmp_path / "hooks.log"
    for when in ("before", "after"):
        (tmp_path / ("%s.yml" % when)).write_text(
            "- name: Tell the application team\n  ansible.builtin.shell: echo %s {{ inventory_hostname }} >> %s\n"
            "  changed_when: false\n" % (when, hooks))
    try:
        time.sleep(1)
        # the database's FPS passes the failover threshold: the scheduled reconcile (full: the name's TTL 5 s), then
        # the predictive failover of its application, the database first, the web tier last, hooks around each
        tiers.degrade(0.95)
        tiers.playbook("reconcile")
        assert bind.served(FQDN) == ([web_was], TTL["full"])
        # the name's clients start once its TTL is the full level's: a client that had resolved it at the partial
        # level's 300 s keeps that answer for up to 300 s, as any caching resolver would (it is served meanwhile
        # through the primary site's pool); which level the database's first rise reaches varies with the moment
        web_load.start()
        time.sleep(1)
        tiers.playbook("failover", "-e", "mirroring_failover_hook_before=%s" % (tmp_path / "before.yml"),
                       "-e", "mirroring_failover_hook_after=%s" % (tmp_path / "after.yml"))
        switched = time.monotonic()
        plan = tiers.results["Blast-radius limit and dependency order"]["localhost"]
        assert plan["order"] == [DB, APP, WEB], plan
        assert sorted(a["name"] for a in plan["added"]) == [APP, WEB]
        assert hooks.read_text().split() == [w for vm in (DB, APP, WEB) for w in ("before", vm, "after", vm)]
        assert bind.served(FQDN) == ([web_now], TTL["full"])  # the name is on the web tier's mirror
        # the primaries die after the failover; the clients see the new address within the TTL
        for vm in (DB, APP, WEB):
            sim.fail(vm)
        tiers.webs["web-primary"].hang()
        tiers.webs["app-primary"].hang()
        time.sleep(TTL["full"] + 2)
    finally:
        web_log, app_log = web_load.stop(), app_load.stop()
        acked = writer.stop()
    lost = writer.lost(tiers.standby_dsn())
    print("three tiers: web %d requests through the name, %d failed; app %d, %d failed; %d rows committed, %d lost"
          % (len(web_log), web_load.failed, len(app_log), app_load.failed, len(acked), len(lost)))
    assert len(web_log) > 100 and len(app_log) > 100 and len(acked) > 50
    assert web_load.failed == 0 and app_load.failed == 0, "failed requests in a predictive failover"
    assert lost == [], "committed rows lost"
    # every client followed the name within the TTL of the run's end (the name moved before it ended)
    assert web_load.first_use(web_now) is not None
    assert max(r[0] for r in web_log if r[3] == web_was) <= switched + TTL["full"] + 1
    assert web_load.served_by("web-mirror") > 0
    assert tiers.pools() == {"web": {WEB: ("maint", 100), WEB + "-mirror": ("ready", 100)},
                             "app": {APP: ("maint", 100), APP + "-mirror": ("ready", 100)}}
    with psycopg.connect(tiers.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    vms = tiers.vms()
    assert all(vms[vm]["attributes"].get(ATTR_QUARANTINED) for vm in (DB, APP, WEB))
    predictive = [f["vm"] for f in tiers.failovers() if f["kind"] == "predictive"]
    assert predictive == [DB, APP, WEB]
    # one prediction, the database's: the analysis labels the application's failover once - the database's primary
    # failed after it (confirmed); the tiers that followed it are not predictions of their own, for or against
    tiers.playbook("analyse")
    records = [f for f in tiers.failovers() if f["kind"] == "predictive"]
    assert {f["vm"]: json.loads(f["label_evidence"]).get("follows") for f in records} == {DB: None, APP: DB, WEB: DB}
    assert {f["vm"]: f["outcome"] for f in records} == {DB: "confirmed", APP: None, WEB: None}
    assert tiers.results["Label the failovers, measure, tune"]["localhost"]["metrics"]["confirmed"] == 1

    # failback once the primaries are healthy: the application comes back whole - traffic, name and data
    for vm in (DB, APP, WEB):
        sim.recover(vm)
    tiers.webs["web-primary"].recover()
    tiers.webs["app-primary"].recover()
    for i, vm in enumerate(v["name"] for v in sim.vms()):
        sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    assert set(acked) | {-1} <= tiers.fail_back(DB)  # with the row written on the mirror while failed over
    pools = tiers.pools()
    assert pools["web"][WEB] == ("ready", 100) and pools["app"][APP] == ("ready", 100)
    assert bind.served(FQDN)[0] == [web_was]
    vms = tiers.vms()
    assert not any(vms[vm]["attributes"].get(ATTR_QUARANTINED) for vm in (DB, APP, WEB))
    assert all(f["failback_at"] for f in tiers.failovers() if f["kind"] == "predictive")


def resolve(bind):
    """The web tier's address and its TTL, as the clients' resolver gets them from BIND."""
    addresses, ttl = bind.served(FQDN)
    return addresses[0], ttl
