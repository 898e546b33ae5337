"""The closed loop end to end, against the simulator, HAProxy and PostgreSQL, under a steady HTTP load and a
steady stream of committed writes: degrade -> reconcile raises the level -> FPS passes the threshold -> predictive
failover -> the primary dies -> nothing failed, nothing lost -> the analysis confirms the prediction -> failback.
The same with a reactive failover for contrast, the blast-radius refusal and the preflight refusal."""
from __future__ import annotations

import datetime
import json
import os
import re
import sys
import time

import psycopg
import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_LEVEL, ATTR_QUARANTINED, ATTR_SYNCED_AT)
from ansible_collections.predictive.mirroring.plugins.module_utils import analysis, fleet, metrics, telemetry, vsphere
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History
from ansible_collections.predictive.mirroring.plugins.module_utils.model import FPSModel

from common.utils import keypair
from rig.bind import Bind
from rig.load import HttpLoad, Writer
from rig.prometheus import Alertmanager, NodeExporter, Prometheus, Receiver
from rig.play import recap_changed
from rig.site import ROOT, STORE_PASSWORD, Site

SICK = "DC0_C0_RP0_VM1"
BUNDLED = os.path.join(ROOT, "models", "default", "model.joblib")
T0 = datetime.datetime(2026, 10, 1, tzinfo=datetime.timezone.utc)


def changed(stdout):
    return recap_changed(stdout)


@pytest.fixture
def site(simulator, tmp_path):
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    s = Site(simulator, tmp_path, SICK)
    try:
        yield s
    finally:
        s.close()


@pytest.fixture
def pg_site(simulator, tmp_path):
    """The site with its history store and model registry on PostgreSQL, every playbook run as a separate AWX job."""
    for i, vm in enumerate(v["name"] for v in simulator.vms()):
        simulator.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    s = Site(simulator, tmp_path, SICK, store="postgresql")
    try:
        yield s
    finally:
        s.close()


def seed_store(site, tmp_path):
    """What the store holds before the test: a fleet's labelled windows (to retrain on), four earlier predictive
    failovers the analysis found unconfirmed (precision 0.2 with this one: the threshold goes up), and the bundled
    model, registered and promoted with the model playbook."""
    data = fleet.bootstrap_set(seed=7, n_vms=300, days=12, windows=8000)
    rows = [{"vcenter": "vc", "vm": "vm-%d" % vm, "window_end": (T0 + datetime.timedelta(hours=float(t), seconds=i)).isoformat(),
             "features": list(x), "label": int(y)}
            for i, (x, y, t, vm) in enumerate(zip(data["X"], data["y"], data["time_h"], data["vm"]))]
    with History(dsn=site.history_dsn) as h:
        h.add_windows(rows, telemetry.FEATURE_NAMES)
        for n in range(4):
            fid = h.add_failover("old-%d" % n, "predictive", fps=88.0, at=(T0 + datetime.timedelta(days=n)).isoformat())
            h.update_failover(fid, outcome="unconfirmed", labelled_at=(T0 + datetime.timedelta(days=n + 1)).isoformat())
        h.set_tuning("trained_at", T0.isoformat(), "the bundled model")
    localhost = tmp_path / "localhost.json"
    localhost.write_text(json.dumps({"all": {"hosts": {"localhost": {
        "ansible_connection": "local", "ansible_python_interpreter": sys.executable}}}}))
    site.playbook("model", "-e", "mirroring_model_register=" + BUNDLED, "-e", "mirroring_model_promote=registered",
                  inventory=str(localhost))
    return len(rows)


@pytest.mark.timeout(1200)  # about 260 s alone; more beside another worker's tests on two cores
def test_predictive_failover_on_the_postgresql_store_as_awx_jobs_then_tuned_and_retrained(pg_site, tmp_path):
    """The closed loop with the history store and the model registry on PostgreSQL and every step a separate
    ansible-playbook process in a fresh working directory (as AWX runs jobs): nothing but the store is shared."""
    site = pg_site
    windows = seed_store(site, tmp_path)
    private, public = keypair(str(tmp_path), "model-signing")
    site.job_env = {"PM_MODEL_TRUSTED_KEYS": public}
    with History(dsn=site.history_dsn) as h:
        bundled = h.current_model_sha()
    assert bundled == FPSModel.load(BUNDLED).manifest["sha256"]

    # observability: node_exporter reads the runs' metrics file, Prometheus scrapes it and evaluates the shipped
    # alert rules, Alertmanager routes to a receiver; the runs notify a webhook that fails once, then takes it
    node = NodeExporter(str(tmp_path / "node")).start()
    paged, hook = Receiver(), Receiver([503, 200])
    manager = Alertmanager(str(tmp_path / "alertmanager")).start(paged.url)
    prom = Prometheus(str(tmp_path / "prometheus")).start(["127.0.0.1:%d" % node.port], manager)
    textfile = os.path.join(node.textfile_dir, "predictive_mirroring.prom")
    site.set_vars(mirroring_metrics_textfile=textfile, mirroring_notify_url=hook.url, mirroring_notify_timeout=5)
    try:
        closed_loop(site, tmp_path, windows, bundled, private, prom, paged, hook, textfile)
    finally:
        for part in (prom, manager, node, paged, hook):
            part.stop()


def closed_loop(site, tmp_path, windows, bundled, private, prom, paged, hook, textfile):
    # a healthy VM: minimal - WAL shipped, no mirror in the pool; a second reconcile changes nothing anywhere - its
    # metrics file neither: the same bytes but for the run's times
    site.playbook("reconcile")
    assert site.pool() == {SICK: ("ready", 100)}
    first = open(textfile, "rb").read()
    counts = changed(site.playbook("reconcile"))
    assert {SICK, "localhost"} <= set(counts) and set(counts.values()) == {0}, (counts, site.changed_tasks())
    second = open(textfile, "rb").read()
    assert first != second and metrics.comparable(first) == metrics.comparable(second)
    assert SICK + "-mirror" not in site.vms()

    # it degrades: --check --diff shows the rise and changes nothing; reconcile raises it - a mirror VM, a streaming
    # standby and a mirror in the pool appear
    site.degrade(0.28)
    before = site.production()
    out = site.playbook("reconcile", "--check", "--diff")
    assert changed(out)[SICK] > 0 and site.production() == before and not os.path.exists(site.standby_datadir)
    site.playbook("reconcile")
    level = site.vms()[SICK]["attributes"][ATTR_LEVEL]
    assert level in ("partial", "full")
    assert site.pool()[SICK + "-mirror"] == ("ready", 0 if level == "partial" else 100)
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]

    load = HttpLoad(site.ha.frontends["app"], clients=4).start()
    writer = Writer(site.writer_dsn()).start()
    try:
        time.sleep(1)
        # FPS passes the threshold: the scheduled reconcile, then the failover
        site.degrade(0.95)
        site.playbook("reconcile")
        # Prometheus sees the FPS above the threshold, the level, the wait at failover_now, the 4 earlier failovers
        [(_labels, fps)] = prom.wait_query('predictive_mirroring_fps{vm="%s"}' % SICK, lambda r: r and r[0][1] > 85)
        assert prom.query('predictive_mirroring_level{vm="%s"}' % SICK)[0][1] == 2  # full
        assert prom.query('predictive_mirroring_failover_now_since_timestamp_seconds{vm="%s"}' % SICK)
        assert prom.query('predictive_mirroring_failovers_total{kind="predictive"}')[0][1] == 4
        # a store that refuses the password: one clear line, the password nowhere, nothing changed (not even the lease)
        pool = site.pool()
        wrong = site.store_dsn("not-the-password")
        out = site.playbook("failover", "-e", json.dumps({"mirroring_history_dsn": wrong}), ok=False)
        [line] = [ln for ln in out.splitlines() if ln.startswith("fatal:")]
        assert "password authentication failed" in line
        assert "Cannot open the PostgreSQL history store host=127.0.0.1" in line
        assert "not-the-password" not in out and STORE_PASSWORD not in out
        assert site.pool() == pool and not site.vms()[SICK]["attributes"].get(ATTR_QUARANTINED)
        assert site.lease() is None
        # --check --diff first: it says what it would do and changes nothing
        pool = site.pool()
        out = site.playbook("failover", "--check", "--diff")
        assert "would stop the primary" in out and site.pool() == pool
        with psycopg.connect(site.standby_dsn()) as s:
            assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        assert not site.vms()[SICK]["attributes"].get(ATTR_QUARANTINED)
        # the webhook refuses the failover's notification once, then takes it (re-armed here: a reconcile on a loaded
        # machine may already have told it of a recovery point not held, and taken the first answer)
        earlier = [b.get("event") for b in hook.bodies]
        hook.answers = [503, 200]
        out = site.playbook("failover")
        assert changed(out)[SICK] > 0
        told = site.results["Tell someone the VM failed over"][SICK]
        assert told["delivered"] and told["attempts"] == 2, (told, earlier)  # the webhook's 503, then its 200
        notes = hook.wait(lambda b: b["event"] == "failover")
        assert len(notes) == 2 and notes[0] == notes[1]  # the refused attempt and its retry, the same notification
        note = notes[0]
        assert note["details"]["vm"] == SICK and note["details"]["mode"] == "predictive" and float(note["details"]["fps"]) > 85
        # the failover counter went up by exactly one, predictive; the shipped rule paged through Alertmanager
        series = 'predictive_mirroring_failovers_total{kind="predictive"}'
        prom.wait_query(series, lambda r: r and r[0][1] == 5)
        assert prom.query("max_over_time(%s[10m]) - min_over_time(%s[10m])" % (series, series))[0][1] == 1
        alerts = paged.wait(lambda b: any(a["labels"]["alertname"] == "PredictiveMirroringFailoverPerformed"
                                          for a in b["alerts"]), what="the FailoverPerformed alert")
        [alert] = [a for b in alerts for a in b["alerts"] if a["labels"]["alertname"] == "PredictiveMirroringFailoverPerformed"]
        assert alert["labels"]["vm"] == SICK and alert["labels"]["kind"] == "predictive" and alert["status"] == "firing"
        assert not prom.query('predictive_mirroring_failover_now_since_timestamp_seconds{vm="%s"}' % SICK)
        # the primary dies after the failover
        site.sim.fail(SICK)
        site.primary_web.hang()
        time.sleep(2)
    finally:
        log = load.stop()
        acked = writer.stop()
    print("predictive: %d requests, %d failed; %d rows committed, %d lost"
          % (len(log), load.failed, len(acked), len(writer.lost(site.standby_dsn()))))
    assert len(log) > 100 and len(acked) > 50
    assert load.failed == 0, "failed HTTP requests in a predictive failover"
    assert writer.lost(site.standby_dsn()) == [], "committed rows lost"
    assert site.pool() == {SICK: ("maint", 100), SICK + "-mirror": ("ready", 100)}
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0] is False
    vms = site.vms()
    assert vms[SICK]["attributes"][ATTR_QUARANTINED]
    mirror = vms[SICK + "-mirror"]
    assert (mirror["num_cpu"], mirror["memory_mb"]) == (vms[SICK]["num_cpu"], vms[SICK]["memory_mb"])
    record = site.failovers()[-1]
    assert len(site.failovers()) == 5 and record["vm"] == SICK
    assert record["kind"] == "predictive" and record["fps"] >= 85 and json.loads(record["reasons"])
    assert len(json.loads(record["features"])) == len(telemetry.FEATURE_NAMES)

    # a second failover run, and the scheduled reconcile, leave the failed-over VM alone
    assert changed(site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK)).get(SICK, 0) == 0
    before = site.pool()
    site.playbook("reconcile")
    assert site.pool() == before

    # Post-Failover Analysis: the primary failed after the failover - a confirmed prediction; five labels with a
    # precision of 0.2 raise the threshold a step; the new label retrains the model on the store's windows, signed,
    # registered and promoted - all in the store, no file outlives the job
    out = site.playbook("analyse", "-e", "mirroring_retrain_min_labels=1", "-e", "mirroring_model_promote=true",
                        "-e", "mirroring_model_promote_min_precision=0", "-e", "mirroring_model_signing_key=" + private)
    record = site.failovers()[-1]
    assert record["vm"] == SICK and record["outcome"] == "confirmed", out[-3000:]
    assert record["downtime_s"] == 0.0
    assert json.loads(record["label_evidence"])["event"] == "VmGuestOSCrashedEvent"
    with History(dsn=site.history_dsn) as h:
        assert h.db.execute("SELECT label, source FROM windows WHERE source = 'failover'").fetchall() == [(1, "failover")]
        assert h.count_windows()["windows"] == windows + 1
        assert h.tuning("failover_threshold") == 85.0 + analysis.THRESHOLD_STEP
        retrained = h.current_model_sha()
        assert retrained != bundled and len(h.models()) == 2
    assert site.job_leftovers == [], "a job left a history or model file behind"
    # the next job - another process, another directory - scores with the promoted model and the tuned threshold
    inv = site.inventory_list()
    assert inv["_meta"]["hostvars"][SICK]["fps_model_sha256"] == retrained
    assert inv["_meta"]["hostvars"][SICK]["fps_model_path"] == "store:" + retrained
    assert inv["_meta"]["hostvars"][SICK]["mirroring_failover_threshold"] == 85.0 + analysis.THRESHOLD_STEP

    # failback once the primary is healthy: data and traffic return with nothing lost
    site.sim.recover(SICK)
    site.primary_web.recover()
    for i, vm in enumerate(v["name"] for v in site.sim.vms()):
        site.sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    assert set(acked) | {-1} <= site.fail_back(SICK)  # with the row written on the mirror while failed over
    pool = site.pool()
    assert pool[SICK] == ("ready", 100)
    assert not site.vms()[SICK]["attributes"][ATTR_QUARANTINED]
    assert site.failovers()[-1]["failback_at"]


def test_reactive_failover_for_contrast(site):
    site.degrade(0.27, events=0)
    # its mirror cannot be built this time: the VM's pool stays as it was (never a server for a mirror that is not
    # there), the run fails naming it, and the vCenter lease is free at once for the next run
    pool = site.pool()
    site.sim.fail_clones_of(SICK, "datastore full")
    out = site.playbook("reconcile", ok=False)
    assert "could not be brought to their level" in out and SICK in out, out[-3000:]
    assert site.pool() == pool and SICK + "-mirror" not in site.pool()
    assert site.lease() is None
    site.sim.fail_clones_of(SICK, clear=True)
    site.playbook("reconcile")
    assert SICK + "-mirror" in site.pool()
    load = HttpLoad(site.ha.frontends["app"], clients=4).start()
    writer = Writer(site.writer_dsn()).start()
    try:
        time.sleep(1)
        # the primary dies with no warning: VM, web server and database at once
        site.sim.fail(SICK)
        site.primary_web.hang()
        site.db.proc.kill()
        time.sleep(1)
        # the on-call webhook is down too (accepts, never answers): the failover pays its 2 s timeout and no more
        dead = Receiver(silent=True)
        try:
            site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, "-e", "mirroring_failover_mode=reactive",
                          "-e", "mirroring_notify_url=" + dead.url, "-e", "mirroring_notify_timeout=2")
        finally:
            dead.stop()
        told = site.results["Tell someone the VM failed over"][SICK]
        assert not told["delivered"] and "did not answer" in told["error"] and "secret-token" not in json.dumps(told)
        # the notification took its timeout; the task, that plus a module's start (about a second on a quiet machine,
        # several when the tests run in parallel workers on two cores)
        assert 1.9 <= told["seconds"] <= 2.3 and site.task_seconds("Tell someone the VM failed over") <= 8.0
        time.sleep(2)
    finally:
        load.stop()
        acked = writer.stop()
    lost = writer.lost(site.standby_dsn())
    print("reactive: %d requests, %d failed; %d rows committed, %d lost" % (len(load.log), load.failed, len(acked), len(lost)))
    assert load.failed > 0  # the requests caught by the dead primary, and the 503s until the mirror serves
    assert site.pool()[SICK + "-mirror"] == ("ready", 100)
    site.playbook("analyse")
    [record] = site.failovers()
    assert record["outcome"] == "missed"
    assert record["downtime_s"] > 0  # from the crash vCenter saw to the failover


def test_preflight_refuses_a_lagging_replica_and_changes_nothing(site):
    site.degrade(0.27, events=0)
    site.playbook("reconcile")
    with psycopg.connect(site.standby_dsn(), autocommit=True) as s:
        s.execute("SELECT pg_wal_replay_pause()")
    with psycopg.connect(site.db.dsn, autocommit=True) as c:
        assert c.execute("SHOW synchronous_standby_names").fetchone() == ("",)  # partial: asynchronous
        c.execute("INSERT INTO ledger SELECT generate_series(1, 1000)")
    time.sleep(2)
    pool, vms = site.pool(), site.vms()
    # a metrics file that cannot be written stops the run before anything changes
    out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, "-e",
                        "mirroring_metrics_textfile=/nonexistent/dir/pm.prom", ok=False)
    assert "mirroring_metrics_textfile must be an absolute path ending in .prom in an existing directory" in out
    assert site.lease() is None and site.vms()[SICK]["attributes"] == vms[SICK]["attributes"]
    hook, textfile = Receiver(), str(site.dir / "pm.prom")
    try:
        out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, "-e", "mirroring_rpo_seconds=1",
                            "-e", "mirroring_notify_url=" + hook.url, "-e", "mirroring_metrics_textfile=" + textfile, ok=False)
        [note] = hook.wait(lambda b: b["event"] == "refusal")
    finally:
        hook.stop()
    assert "refused" in out and "behind, more than its RPO of 1 s" in out
    assert note["details"]["vm"] == SICK and "behind, more than its RPO of 1 s" in note["details"]["why"]
    # recorded: a refusal by the preflight and a failed failover run, in the metrics file
    text = open(textfile, encoding="utf-8").read()
    assert 'predictive_mirroring_failover_refusals_total{reason="preflight"} 1.0' in text
    assert 'predictive_mirroring_run_failures_total{job="failover"} 1.0' in text
    assert 'refusal_timestamp_seconds{reason="preflight",uuid="%s",vcenter=' % site.vms()[SICK]["instance_uuid"] in text
    assert site.pool() == pool
    assert site.vms()[SICK]["attributes"] == vms[SICK]["attributes"]
    assert site.failovers() == []
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
    # the refused run gave the vCenter lease back: the forced retry starts at once, not after the lease's 900 s TTL
    assert site.lease() is None
    # a mirror whose image is older than its RPO (here: synced two days ago, the partial image RPO is a day) is refused with
    # its age, whatever the replica's lag, and nothing changes
    mirror = SICK + "-mirror"
    site.set_attribute(mirror, ATTR_SYNCED_AT, (vsphere.now() - datetime.timedelta(days=2)).replace(
        microsecond=0).isoformat())
    seen = {n: (v["attributes"], v["power_state"]) for n, v in site.vms().items()}
    out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + SICK, ok=False)
    assert re.search(r"the image of its mirror %s is 1728\d\d s old \(synced at .*\), older than its RPO of 86400 s"
                     % re.escape(mirror), out), out[-3000:]
    assert site.pool() == pool and site.failovers() == [] and site.lease() is None
    assert {n: (v["attributes"], v["power_state"]) for n, v in site.vms().items()} == seen
    with psycopg.connect(site.standby_dsn()) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]  # the replica was not promoted


def test_blast_radius_refuses_every_failover(site):
    names = [v["name"] for v in site.sim.vms() if v["name"].startswith("DC0_")][:3]
    pool = site.pool()
    out = site.playbook("failover", "-e", "mirroring_failover_hosts=" + ",".join(names), ok=False)
    assert "blast-radius limit" in out
    assert site.pool() == pool
    assert not any(vm["attributes"].get(ATTR_QUARANTINED) for vm in site.vms().values())


def test_drill_measures_rto_and_leaves_production_as_it_was(site):
    """Also issue 17: the service's name in BIND has the partial level's TTL while the VM is at partial, and when the
    risk has passed the next reconcile lowers the level and the TTL returns to the minimal level's hour (the rise
    to the full level's TTL is observed in the dripping-receiver test)."""
    bind = Bind(workdir=str(site.dir / "bind")).start()
    try:
        site.set_vars(mirroring_dns_server="127.0.0.1", mirroring_dns_port=bind.port, mirroring_dns_zone="app.example",
                      mirroring_dns_name="www", mirroring_dns_primary_address="10.1.0.11",
                      mirroring_dns_key_name=bind.key_name, mirroring_dns_key_secret=bind.key_secret)
        site.set_inventory(min_dwell_minutes=0)  # a level may step down on the next run
        drill_and_fall(site, bind)
    finally:
        bind.remove()


def drill_and_fall(site, bind):
    site.degrade(0.27, events=0)
    site.playbook("reconcile")
    assert bind.served() == (["10.1.0.11"], 300)  # partial: five minutes
    with psycopg.connect(site.db.dsn, autocommit=True) as c:
        c.execute("INSERT INTO ledger SELECT generate_series(1, 250)")
    time.sleep(1)
    before = site.production()
    out = site.playbook("drill", "-e", "mirroring_drill_hosts=" + SICK)
    assert '"data_check": "250"' in out  # the replicated rows, read on the drill's copy
    assert site.production() == before
    assert site.pool("drill") == {}
    assert not any(name.endswith("-drill") for name in site.vms())
    [drill] = site.failovers()
    print("drill: RTO %.2f s, data %.3f s behind" % (drill["downtime_s"], drill["data_lag_s"]))
    assert drill["kind"] == "drill" and 0 < drill["downtime_s"] < 120 and drill["data_lag_s"] is not None
    assert bind.served() == (["10.1.0.11"], 300)  # a drill moves no name
    # the risk passes: minimal again, the mirror gone, and clients may cache the name for an hour again
    for i, vm in enumerate(v["name"] for v in site.sim.vms()):
        site.sim.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
    site.playbook("reconcile")
    assert site.vms()[SICK]["attributes"][ATTR_LEVEL] == "minimal"
    assert SICK + "-mirror" not in site.vms()
    assert bind.served() == (["10.1.0.11"], 3600)


@pytest.mark.timeout(900)
def test_a_dripping_webhook_receiver_never_delays_a_predictive_failover(site):
    """Issue 33: a receiver that answers one byte every 0.5 s. The notification is sent only once the switch is done
    (it reaches the receiver after the primary's quarantine, the switch's last act, on the machine's monotonic clock,
    and finds the traffic already moved), and it gives up at its deadline (10 s); the switch's time with that receiver
    and with none (the same VM failed over, failed back, failed over again) is printed side by side - not asserted: on
    a machine running two test commands at once the two switches took 26 s and 15 s, load and nothing else.
    Issue 17: the service's DNS name on a real BIND 9 follows - its TTL falls to the full level's as the VM rises,
    it moves to the mirror in the failover's traffic step and back on failback. The mirror's address is the one its
    re-IP rule gave it (10.1.0.0/24 -> 10.2.0.0/24, guest customization), which the inventory reads from the mirror:
    no address of the mirror is configured by hand."""
    bind = Bind(workdir=str(site.dir / "bind")).start()
    site.sim.set_guest_address(SICK, "10.1.0.11")
    site.set_vars(mirroring_dns_server="127.0.0.1", mirroring_dns_port=bind.port, mirroring_dns_zone="app.example",
                  mirroring_dns_name="www", mirroring_dns_primary_address="10.1.0.11",
                  mirroring_reip_rules=[{"primary": "10.1.0.0/24", "secondary": "10.2.0.0/24", "gateway": "10.2.0.1"}],
                  mirroring_dns_key_name=bind.key_name,
                  mirroring_dns_key_secret=bind.key_secret, mirroring_dns_ttl_by_level={"full": 20})
    try:
        dripping_receiver_and_dns(site, bind)
    finally:
        bind.remove()


def dripping_receiver_and_dns(site, bind):
    site.playbook("reconcile")
    assert bind.served() == (["10.1.0.11"], 3600)  # healthy: minimal, an hour's TTL
    site.degrade(0.95)
    out = site.playbook("reconcile")
    assert bind.served() == (["10.1.0.11"], 20), out[-3000:]  # full: the TTL falls, still on the primary
    assert site.sim.guest(SICK + "-mirror")["ip"] == "10.2.0.11"  # its mirror came up re-IP'd
    assert bind.key_secret not in out
    hosts = ("-e", "mirroring_failover_hosts=" + SICK)

    def switch_seconds():
        """From the intent recorded (the last step before the first act) to the primary quarantined (the last act)."""
        return site.task_ended("Quarantine the primary and record the failover") - site.task_ended(
            "Record the intent to fail over, before the first act")

    started = time.monotonic()
    drip = Receiver(drip=0.5, on_request=lambda: (time.monotonic(), site.pool()))
    try:
        site.playbook("failover", *hosts, "-e", "mirroring_notify_url=" + drip.url, "-e", "mirroring_notify_timeout=10",
                      "-e", "mirroring_notify_retries=3")
        dripped = time.monotonic() - started
        [note] = drip.wait(lambda b: b["event"] == "failover")
    finally:
        drip.stop()
    told = site.results["Tell someone the VM failed over"][SICK]
    assert not told["delivered"] and 9.9 <= told["seconds"] <= 10.5 and "secret-token" not in json.dumps(told)
    assert note["details"]["vm"] == SICK and note["details"]["mode"] == "predictive"
    # when the notification came, the traffic had already moved: the primary drained, the mirror serving
    [(arrived, pool)] = drip.seen
    assert pool == {SICK: ("maint", 100), SICK + "-mirror": ("ready", 100)}
    # ... and the switch had ended: nothing of it waited on the receiver
    assert arrived >= site.task_ended_at("Quarantine the primary and record the failover")
    switch_dripping = switch_seconds()
    assert bind.served() == (["10.2.0.11"], 20)  # the name moved to the mirror with the traffic

    site.playbook("failback", "-e", "mirroring_failback_hosts=" + SICK, "-e", "mirroring_failback_force=true")
    assert site.pool()[SICK] == ("ready", 100)
    assert bind.served()[0] == ["10.1.0.11"]
    started = time.monotonic()
    site.playbook("failover", *hosts)
    quiet = time.monotonic() - started
    assert not site.results["Tell someone the VM failed over"][SICK].get("delivered")  # skipped: no receiver
    switch_quiet = switch_seconds()
    print("switch %.1f s with a dripping receiver, %.1f s with none (%.2fx); whole runs %.1f s, %.1f s"
          % (switch_dripping, switch_quiet, switch_dripping / switch_quiet, dripped, quiet))
    assert [f["kind"] for f in site.failovers()] == ["predictive", "predictive"]
    assert bind.served() == (["10.2.0.11"], 20)
