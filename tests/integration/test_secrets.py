"""Issue 13, item 8: no playbook prints the vCenter password at -vvv, however it is given.

Every playbook of the collection runs at -vvv against the simulator, whose only accepted password is a distinctive
string, given each documented way: the environment (AWX's VMware credential), -e, group_vars, and an Ansible vault.
The output is searched for the password. The database has no password variable to leak: a connection string that
carries one is refused (the replication role says to use ~/.pgpass), which is checked here too.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import json

import pytest
import yaml

from ansible_collections.predictive.mirroring.plugins.module_utils import fleet
from ansible_collections.predictive.mirroring.plugins.module_utils.history import History

from rig.postgres import PostgresCluster
from rig.simulator import Simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)
SECRET = "Vc-S3cret-9f2bXq"
SICK = "DC0_C0_RP0_VM1"
# each playbook, with what it needs to get past its first module call in this rig
PLAYBOOKS = [
    ("reconcile", []),
    ("failover", ["--check", "-e", "mirroring_failover_hosts=" + SICK]),
    ("failback", ["--check", "-e", "mirroring_failback_hosts=" + SICK]),
    ("drill", ["--check", "-e", "mirroring_drill_hosts=" + SICK]),
    ("report", []),
    ("analyse", []),
    ("evacuate", []),
    ("model", []),
]
DB_SECRET = "Hist-S3cret-4d1cZz"


def start_sim(workdir):
    os.makedirs(workdir, exist_ok=True)
    s = Simulator(workdir=workdir, password=SECRET)
    s.start()
    try:
        for i, vm in enumerate(v["name"] for v in s.vms()):
            s.set_perf(vm, fleet.scenario_series("healthy", 0.0, seed=i))
        s.set_scenario(SICK, "degrading_disk", 0.5, seed=7)
    except BaseException:
        s.stop()
        raise
    return s


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    s = start_sim(str(tmp_path_factory.mktemp("sim")))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A PostgreSQL history store whose user needs a password: the DSN that carries it is a secret too."""
    pg = PostgresCluster("secrets-store").start()
    try:
        yield pg.add_login("pm", DB_SECRET, "mirroring")
    finally:
        pg.remove()


def inventory_dir(tmp_path, way):
    """A copy of the demo inventory with the password put where `way` says."""
    inv = tmp_path / ("inv-" + way)
    shutil.copytree(os.path.join(ROOT, "inventories", "demo"), inv)
    extra = []
    if way == "group_vars":
        with open(inv / "group_vars" / "all.yml", "a", encoding="utf-8") as f:
            f.write("mirroring_vcenter_password: %s\n" % SECRET)
    elif way == "vault":
        pw = tmp_path / "vault-pass"
        pw.write_text("vault-key-for-the-test\n")
        os.chmod(pw, 0o600)
        (inv / "group_vars" / "all.yml").rename(inv / "group_vars" / "all.yml.plain")
        os.makedirs(inv / "group_vars" / "all")
        (inv / "group_vars" / "all.yml.plain").rename(inv / "group_vars" / "all" / "main.yml")
        vault_file = inv / "group_vars" / "all" / "vault.yml"
        vault_file.write_text(yaml.safe_dump({"mirroring_vcenter_password": SECRET}))
        subprocess.run([os.path.join(BIN, "ansible-vault"), "encrypt", "--vault-password-file", str(pw), str(vault_file)],
                       check=True, capture_output=True, timeout=60)
        assert SECRET not in vault_file.read_text()
        extra = ["--vault-password-file", str(pw)]
    elif way == "extra_vars":
        extra = ["-e", "mirroring_vcenter_password=" + SECRET]
    return str(inv / "demo.vsphere_fps.yml"), extra


def run(sim, playbook, inventory, *extra, tmp_path, env_extra=None):
    env = dict(os.environ, **sim.env(), **(env_extra or {}))  # the inventory reads VMWARE_PASSWORD, as AWX injects it
    env.update(ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
    args = [os.path.join(BIN, "ansible-playbook"), "-vvv", "playbooks/%s.yml" % playbook, "-i", inventory,
            "-e", "mirroring_history_path=%s" % (tmp_path / "history.sqlite"),
            "-e", "mirroring_report_dir=%s" % (tmp_path / "report")] + list(extra)
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr


def every_playbook(sim, store, tmp_path, way):
    """Every playbook at -vvv with the passwords given `way`; {playbook: return code}. Asserts no password is printed."""
    os.makedirs(tmp_path)
    inventory, extra = inventory_dir(tmp_path, way)
    env_extra = {}
    if way == "env":
        env_extra = {"PM_HISTORY_DSN": store}
    elif way == "extra_vars":
        extra = extra + ["-e", json.dumps({"mirroring_history_dsn": store})]
    outcomes = {}
    for playbook, args in PLAYBOOKS:
        rc, out = run(sim, playbook, inventory, *(extra + args), tmp_path=tmp_path, env_extra=env_extra)
        outcomes[playbook] = rc
        assert "TASK [" in out, out[-2000:]  # it ran tasks, at -vvv
        for secret in (SECRET, DB_SECRET):
            hits = out.count(secret)
            assert hits == 0, "%s (%s): a password appears %d times:\n%s" % (
                playbook, way, hits, "\n".join(line for line in out.splitlines() if secret in line)[:3000])
    return outcomes


@pytest.mark.parametrize("way", ["env", "extra_vars", "group_vars", "vault"])
def test_no_playbook_prints_a_password_at_vvv_however_it_is_given(store, tmp_path, way):
    """The vCenter password given each documented way - the environment (AWX's VMware credential), -e, group_vars, an
    Ansible vault - and the history store's DSN, password and all, in the environment as an AWX credential injects it
    (the inventory and every module read it) or as -e mirroring_history_dsn (the roles pass it on). Each way has its
    own simulator (and its own test, so the ways spread over the test workers)."""
    with History(dsn=store) as h:
        decisions = h.counts()["decisions"]
    sim = start_sim(str(tmp_path / ("sim-" + way)))
    try:
        outcomes = every_playbook(sim, store, tmp_path / way, way)
    finally:
        sim.stop()
    # the passwords were used, not only hidden: the playbooks that log in succeeded with them
    assert all(outcomes[p] == 0 for p in ("reconcile", "report", "analyse", "failover", "drill", "evacuate", "model")), \
        (way, outcomes)
    assert sorted(outcomes) == sorted(os.path.splitext(f)[0] for f in os.listdir(os.path.join(ROOT, "playbooks"))
                                      if f.endswith(".yml")), "a playbook is not covered"
    if way in ("env", "extra_vars"):  # the store was written by the playbooks, through its password
        with History(dsn=store) as h:
            assert h.schema_version() >= 4 and h.counts()["decisions"] > decisions


def test_a_database_password_in_a_connection_string_is_refused_and_not_printed(sim, tmp_path):
    inventory, _extra = inventory_dir(tmp_path, "env")
    secret = "Pg-S3cret-77aa"
    vars_file = tmp_path / "svc.yml"
    vars_file.write_text(yaml.safe_dump({
        "mirroring_pg_standby_datadir": str(tmp_path / "standby"), "mirroring_pg_primary_host": "127.0.0.1",
        "mirroring_pg_primary_conninfo": "host=127.0.0.1 port=5432 user=replicator password=%s dbname=postgres" % secret}))
    playbook = tmp_path / "replicate.yml"
    playbook.write_text(yaml.safe_dump([{"name": "Replication", "hosts": SICK, "gather_facts": False,
                                         "vars_files": [str(vars_file)],
                                         "roles": [{"role": "predictive.mirroring.replication",
                                                    "vars": {"mirroring_replication_level": "partial"}}]}]))
    env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "-vvv", str(playbook), "-i", inventory], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=300, check=False)
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "holds a password" in out and "~/.pgpass" in out
    assert secret not in out
    assert not os.path.exists(tmp_path / "standby")
