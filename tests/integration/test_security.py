"""Issue 13: the attacks and faults found against the collection, each reproduced against the real parts.

Every test acts as an attacker or a fault would and then observes, on the real part (vCenter through pyVmomi,
HAProxy's own `show servers state` and a request through its frontend, the history store), that nothing changed
that should not have.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import joblib
import pytest
import yaml
from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import (
    ATTR_LEVEL, ATTR_PRIMARY, ATTR_QUARANTINED)
from ansible_collections.predictive.mirroring.plugins.module_utils import failover, history, lease, mirror, vsphere
from ansible_collections.predictive.mirroring.plugins.modules import lb_pool, mirror_plan, pg_replication, vm_failover, vm_mirror

from common.utils import run_module
from rig.estate import DEMO, SICK, conn, mirrors_of, observe, one_mirror_each, playbook_env, start_playbook, story
from rig.play import run_playbook
from rig.procs import kill_tree
from rig.simulator import Simulator

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def by_name(seen, name, datacenter="DC0"):
    return next(v for v in seen if v["name"] == name and v["datacenter"] == datacenter)


def inventory(sim, config, env=None):
    run_env = playbook_env(sim, **(env or {}))
    return subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--list"], cwd=ROOT, env=run_env,
                          capture_output=True, text=True, timeout=300, check=False)


def write_config(tmp_path, **options):
    cfg = {"plugin": "predictive.mirroring.vsphere_fps", "datacenters": ["DC0"]}
    cfg.update(options)
    path = tmp_path / "test.vsphere_fps.yml"
    path.write_text(json.dumps(cfg))
    return str(path)


def mirror_args(sim, **extra):
    return dict(conn(sim), secondary_datacenter="DC1", **extra)


# 1 -------------------------------------------------------------------------------------------------------------
def test_1_a_namesake_in_the_secondary_datacenter_is_never_touched(simulator, tmp_path):
    story(simulator)
    with vsphere.VSphere(**conn(simulator)) as vs:
        stranger = next(v for v in vs.virtual_machines() if v["name"] == "DC1_C0_RP0_VM0")
        vs.wait_task(stranger["_ref"].Rename_Task(newName=SICK), "rename")
    before = observe(simulator)
    namesake = by_name(before, SICK, "DC1")
    primary = by_name(before, SICK, "DC0")
    stats, tasks = run_playbook(simulator, "reconcile", DEMO, workdir=str(tmp_path))
    assert stats["failures"] == 0
    plan = {p["name"]: p["level"] for p in tasks["Plan each VM's level (cost optimizer, exact)"]["vms"]}
    assert plan[SICK] in ("partial", "full")
    seen = observe(simulator)
    # the namesake: exactly as it was - no snapshot, no attribute, same power, not taken for a mirror
    assert next(v for v in seen if v["moid"] == namesake["moid"]) == namesake
    # the real primary got its level and exactly one mirror carrying its UUID
    now = next(v for v in seen if v["moid"] == primary["moid"])
    assert now["attributes"][ATTR_LEVEL] == plan[SICK] and now["snapshots"]
    assert [m["datacenter"] for m in mirrors_of(seen, primary["instance_uuid"])] == ["DC1"]
    # a name alone that two VMs share is refused, and nothing is powered off
    result, failed = run_module(vm_failover, dict(conn(simulator), name=SICK, state="quarantined", power_off=True,
                                                  history_path=str(tmp_path / "h.sqlite")))
    assert failed and "ambiguous" in result["msg"] and not result["changed"]
    assert [(v["moid"], v["power_state"], v["attributes"]) for v in observe(simulator)] == \
        [(v["moid"], v["power_state"], v["attributes"]) for v in seen]


# 2 -------------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("where, value", [("file", "perhaps"), ("file", "ture"), ("env", "perhaps")])
def test_2_a_typo_in_validate_certs_never_turns_verification_off(simulator, tmp_path, where, value):
    options = {"ca_path": str(tmp_path / "missing-ca.pem")}
    env = {"VMWARE_CA_PATH": str(tmp_path / "missing-ca.pem")}
    if where == "file":
        options["validate_certs"] = value
    else:
        env["VMWARE_VALIDATE_CERTS"] = value
    proc = inventory(simulator, write_config(tmp_path, **options), env=env)
    assert proc.returncode != 0
    assert "validate_certs" in proc.stderr and "must be true or false" in proc.stderr and repr(value) in proc.stderr


# 3 -------------------------------------------------------------------------------------------------------------
def served(ha):
    with urllib.request.urlopen("http://127.0.0.1:%d/" % ha.frontends["app"], timeout=5) as r:
        return r.status, r.read().decode()


@pytest.mark.parametrize("servers, backend", [
    ([{"name": "mirror;disable frontend fe_app", "state": "ready", "weight": 100, "address": "127.0.0.1:1"}], "app"),
    ([{"name": "mirror\nset server app/primary state maint", "state": "ready", "address": "127.0.0.1:1"}], "app"),
    ([{"name": "primary", "state": "ready", "weight": 100}], "app;shutdown frontend fe_app"),
    ([{"name": "mirror", "state": "ready", "address": "127.0.0.1:1;add server app/x 127.0.0.1:2"}], "app"),
    ([{"name": "web 01", "state": "ready", "address": "127.0.0.1:1"}], "app"),
])
def test_3_names_that_would_inject_commands_are_refused_before_anything_is_sent(pool, servers, backend):
    ha, _primary, _spare = pool
    before = servers_state(ha)
    result, failed = run_module(lb_pool, {"socket": ha.socket, "backend": backend, "servers": servers})
    assert failed and "refused" in result["msg"]
    assert servers_state(ha) == before
    assert served(ha) == (200, "primary")


def servers_state(ha):
    """What a command could change in `show servers state`: each server's address, operational and administrative
    state and weights (its columns 4-8). The health-check columns after them move on their own between two reads."""
    rows = [line.split() for line in ha.command("show servers state").splitlines()[1:]
            if line.strip() and not line.startswith("#")]
    return sorted(tuple(r[:9]) for r in rows)


# 4 -------------------------------------------------------------------------------------------------------------
def test_4_two_reconciles_at_the_same_moment_build_one_mirror_each(simulator, tmp_path):
    story(simulator)
    runs = [start_playbook(simulator, "reconcile", log=str(tmp_path / ("run%d.log" % i))) for i in range(2)]
    codes = [r.wait(timeout=600) for r in runs]
    logs = [open(tmp_path / ("run%d.log" % i), encoding="utf-8").read() for i in range(2)]
    assert codes == [0, 0], logs
    counts = one_mirror_each(simulator)
    assert counts and set(counts.values()) == {1}, counts
    with vsphere.VSphere(**conn(simulator)) as vs:
        assert lease.Lease(vs, "observer").read() is None  # both gave the lease back


def test_4_a_run_killed_mid_clone_and_two_concurrent_reruns_converge(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), method_delay={"CloneVM_Task": 4000})
    os.makedirs(sim.workdir)
    sim.start()
    try:
        story(sim)
        first = start_playbook(sim, "reconcile", log=str(tmp_path / "killed.log"))
        deadline = time.monotonic() + 120
        snapped = False
        while time.monotonic() < deadline and not snapped:  # the batch has begun: its first snapshot exists
            time.sleep(0.3)
            snapped = any(v["snapshots"] for v in observe(sim) if v["name"] == SICK)
        assert snapped, open(tmp_path / "killed.log", encoding="utf-8").read()
        time.sleep(1.5)  # inside the 4 s CloneVM_Task call
        # the run and every process it started, its task workers (in sessions of their own) and vm_mirror with them
        killed = kill_tree(first)
        first.wait(timeout=30)
        assert len(killed) > 2, killed
        # the lease's keeper (its own session: the kill missed it) saw the run and its module go and gave it back
        deadline = time.monotonic() + 10
        while True:
            with vsphere.VSphere(**conn(sim)) as vs:
                held = lease.Lease(vs, "observer").read()
            if held is None or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        # if not: what the record names, and which of the killed processes still run (the keeper follows them)
        assert held is None, (held, [(pid, open("/proc/%d/cmdline" % pid, "rb").read()[:200]) for pid in killed
                                     if lease.process_start(pid) is not None])
        reruns = [start_playbook(sim, "reconcile", "-e", "mirroring_lease_wait=180", log=str(tmp_path / ("re%d.log" % i)))
                  for i in range(2)]
        codes = [r.wait(timeout=600) for r in reruns]
        logs = [open(tmp_path / ("re%d.log" % i), encoding="utf-8").read() for i in range(2)]
        # the failed task's lines first: the assertion's message is cut at a few hundred characters
        assert codes == [0, 0], [[ln for ln in log.splitlines() if "fatal:" in ln or "ERROR" in ln] for log in logs] + logs
        counts = one_mirror_each(sim)
        assert counts and set(counts.values()) == {1}, counts
        stats, _tasks = run_playbook(sim, "reconcile", DEMO, workdir=str(tmp_path))
        assert stats["changed"] == 0 and stats["failures"] == 0
    finally:
        sim.stop()


def test_4_a_second_writer_waits_then_names_the_holder(simulator):
    with vsphere.VSphere(**conn(simulator)) as vs:
        held = lease.Lease(vs, "reconcile@elsewhere:abc", ttl=60)
        held.acquire(wait=0)
        before = observe(simulator)
        started = time.monotonic()
        result, failed = run_module(vm_mirror, mirror_args(simulator, name="DC0_C0_RP0_VM0", level="partial", lease_wait=2))
        assert failed and "held by another run: reconcile@elsewhere:abc" in result["msg"]
        assert time.monotonic() - started < 30
        assert observe(simulator) == before
        held.release()


def test_4_duplicates_ours_are_removed_strangers_left_and_reported(simulator, tmp_path):
    story(simulator)
    run_playbook(simulator, "reconcile", DEMO, workdir=str(tmp_path))
    seen = observe(simulator)
    primary = by_name(seen, SICK)
    with vsphere.VSphere(**conn(simulator)) as vs:
        rows = {v["moid"]: v for v in vs.virtual_machines()}
        ours = next(v for v in rows.values() if v["attributes"].get(ATTR_PRIMARY) == primary["instance_uuid"])
        folder = ours["_ref"].parent
        spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=ours["_ref"].resourcePool), powerOn=False,
                                template=False, config=vim.vm.ConfigSpec(extraConfig=[vim.option.OptionValue(
                                    key=mirror.MARKER_KEY, value=primary["instance_uuid"])]))
        twin = vs.wait_task(ours["_ref"].CloneVM_Task(folder=folder, name=SICK + "-twin", spec=spec), "clone")
        vs.set_attribute(twin, ATTR_PRIMARY, primary["instance_uuid"])
        plain = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=ours["_ref"].resourcePool), powerOn=False, template=False)
        stranger = vs.wait_task(ours["_ref"].CloneVM_Task(folder=folder, name=SICK + "-stranger", spec=plain), "clone")
        vs.set_attribute(stranger, ATTR_PRIMARY, primary["instance_uuid"])
        twin_moid, stranger_moid = twin._moId, stranger._moId  # pylint: disable=protected-access
    stats, tasks = run_playbook(simulator, "reconcile", DEMO, workdir=str(tmp_path))
    assert stats["failures"] == 0
    result = next(v for v in tasks["Hold every VM at its level in vSphere"]["vms"] if v["name"] == SICK)
    assert result["duplicates_removed"] == ["%s-twin (%s)" % (SICK, twin_moid)]
    moids = {v["moid"] for v in observe(simulator)}
    assert twin_moid not in moids and stranger_moid in moids and ours["moid"] in moids


def test_4_a_clone_refused_for_its_name_removes_nothing(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), method_delay={"CloneVM_Task": 3000})
    os.makedirs(sim.workdir)
    sim.start()
    try:
        with vsphere.VSphere(**conn(sim)) as vs:
            rows = vs.virtual_machines()
            src = next(v for v in rows if v["name"] == "DC0_C0_RP0_VM0")
            dc1 = next(d for d in vs.content.rootFolder.childEntity if d.name == "DC1")
            pool_ref = next(v for v in rows if v["datacenter"] == "DC1")["_ref"].resourcePool
            spec = vim.vm.CloneSpec(location=vim.vm.RelocateSpec(pool=pool_ref), powerOn=False, template=False)
            other = {}
            # another writer's clone of the same name, in flight (vCenter reserves the name)
            thread = threading.Thread(target=lambda: other.update(vm=vs.wait_task(src["_ref"].CloneVM_Task(
                folder=dc1.vmFolder, name="DC0_C0_RP0_VM0-mirror", spec=spec), "clone")))
            thread.start()
            time.sleep(0.5)
            result, failed = run_module(vm_mirror, mirror_args(sim, uuid=src["instance_uuid"], level="partial"))
            thread.join(timeout=60)
            assert failed and "already exists" in result["msg"] and "nothing was removed" in result["msg"]
            moids = {v["moid"] for v in observe(sim)}
            assert other["vm"]._moId in moids  # pylint: disable=protected-access
    finally:
        sim.stop()


# 5 -------------------------------------------------------------------------------------------------------------
def test_5_no_act_without_a_record_and_a_fault_half_way_converges(simulator, tmp_path, monkeypatch):
    with vsphere.VSphere(**conn(simulator)) as vs:
        uuid = next(v["instance_uuid"] for v in vs.virtual_machines() if v["name"] == "DC0_C0_RP0_VM0")
    result, failed = run_module(vm_mirror, mirror_args(simulator, uuid=uuid, level="partial"))
    assert not failed
    before = by_name(observe(simulator), "DC0_C0_RP0_VM0")
    # a store that cannot be opened: nothing happens at all
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    args = dict(conn(simulator), uuid=uuid, state="quarantined", power_off=True, history_path=str(blocker / "h.sqlite"))
    result, failed = run_module(vm_failover, args)
    assert failed and "Cannot open the history store" in result["msg"] and result["changed"] is False
    assert by_name(observe(simulator), "DC0_C0_RP0_VM0") == before
    # a fault after the power-off: the intent and the failure are recorded, changed tells the truth
    store = str(tmp_path / "h.sqlite")
    args["history_path"] = store

    def broken(self, vm, value):
        raise vsphere.VSphereError("injected: the session dropped while setting the quarantine")
    with monkeypatch.context() as m:
        m.setattr(failover.Quarantine, "set_quarantine", broken)
        result, failed = run_module(vm_failover, args)
    assert failed and "injected" in result["msg"] and result["changed"] is True
    now = by_name(observe(simulator), "DC0_C0_RP0_VM0")
    assert now["power_state"] == "poweredOff" and not now["attributes"].get(ATTR_QUARANTINED)
    with history.History(store) as h:
        assert [(a["action"], a["status"]) for a in h.actions(vm_uuid=uuid)] == [("quarantine", "failed")]
        assert "injected" in h.actions(vm_uuid=uuid)[0]["error"]
        assert h.failovers(vm_uuid=uuid) == []
    # the re-run completes it, and a third run changes nothing
    result, failed = run_module(vm_failover, args)
    assert not failed and result["changed"] and result["failover_id"]
    now = by_name(observe(simulator), "DC0_C0_RP0_VM0")
    assert now["attributes"].get(ATTR_QUARANTINED) and now["power_state"] == "poweredOff"
    with history.History(store) as h:
        assert [(a["action"], a["status"]) for a in h.actions(vm_uuid=uuid)] == [
            ("quarantine", "failed"), ("quarantine", "done")]
        assert len(h.failovers(vm_uuid=uuid)) == 1
    result, failed = run_module(vm_failover, args)
    assert not failed and not result["changed"]

    # the failover role writes its intent before the first act, and a failed step closes it as failed
    result, failed = run_module(vm_failover, dict(args, state="intent"))
    assert not failed and result["action_id"]
    run_module(vm_failover, dict(args, state="aborted", action_id=result["action_id"], error="Switch traffic: refused"))
    with history.History(store) as h:
        last = h.actions(vm_uuid=uuid)[-1]
    assert (last["action"], last["status"], last["error"]) == ("failover", "failed", "Switch traffic: refused")


# 6 -------------------------------------------------------------------------------------------------------------
class Silent:
    """A server that accepts connections and never answers."""

    def __init__(self, family=socket.AF_INET, address=("127.0.0.1", 0)):
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.bind(address)
        self.sock.listen(16)
        self.address = self.sock.getsockname()
        self.held = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while True:
            try:
                c, _addr = self.sock.accept()
            except OSError:
                return
            self.held.append(c)

    def close(self):
        self.sock.close()
        for c in self.held:
            c.close()


def test_6_a_vcenter_that_never_answers_fails_within_the_timeout(simulator, tmp_path):
    silent = Silent()
    try:
        env = {"VMWARE_HOST": "127.0.0.1", "VMWARE_PORT": str(silent.address[1]), "VMWARE_VALIDATE_CERTS": "false"}
        started = time.monotonic()
        proc = inventory(simulator, write_config(tmp_path, timeout=3), env=env)
        took = time.monotonic() - started
        assert proc.returncode != 0 and "did not answer within 3 s" in proc.stderr, proc.stderr
        assert took < 60
        started = time.monotonic()
        result, failed = run_module(vm_mirror, dict(hostname="127.0.0.1", port=silent.address[1], username="u",
                                                    password="p", validate_certs=False, timeout=2,
                                                    secondary_datacenter="DC1", name="x", level="minimal"))
        assert failed and "did not answer within 2 s" in result["msg"] and time.monotonic() - started < 30
    finally:
        silent.close()


def test_6_haproxy_and_postgresql_that_never_answer_fail_within_their_timeouts(tmp_path):
    path = str(tmp_path / "silent.sock")
    silent_unix, silent_tcp = Silent(socket.AF_UNIX, path), Silent()
    try:
        started = time.monotonic()
        result, failed = run_module(lb_pool, {"socket": path, "backend": "app", "timeout": 1,
                                              "servers": [{"name": "primary", "state": "ready"}]})
        assert failed and "Cannot reach the HAProxy runtime API" in result["msg"] and time.monotonic() - started < 10
        started = time.monotonic()
        result, failed = run_module(pg_replication, {
            "standby": "host=127.0.0.1 port=%d user=postgres dbname=postgres" % silent_tcp.address[1],
            "application_name": "db01_mirror", "mode": "status"})
        assert failed and time.monotonic() - started < 30, result
    finally:
        silent_unix.close()
        silent_tcp.close()


# 7 -------------------------------------------------------------------------------------------------------------
def test_7_a_misspelt_option_is_refused_naming_the_right_one(simulator, tmp_path):
    path = tmp_path / "typo.vsphere_fps.yml"
    path.write_text(json.dumps({"plugin": "predictive.mirroring.vsphere_fps", "datacenter": ["DC0"]}))
    proc = inventory(simulator, str(path))
    assert proc.returncode != 0
    assert "unknown option datacenter (did you mean datacenters?)" in proc.stderr, proc.stderr


def test_7_a_primary_is_never_mirrored_into_its_own_datacenter(simulator):
    before = observe(simulator)
    target = by_name(before, "DC1_C0_RP0_VM0", "DC1")
    result, failed = run_module(vm_mirror, mirror_args(simulator, uuid=target["instance_uuid"], level="full"))
    assert failed and "never mirrored into its own datacenter" in result["msg"] and not result["changed"]
    assert observe(simulator) == before


# 8: tests/integration/test_secrets.py --------------------------------------------------------------------------

# 9 -------------------------------------------------------------------------------------------------------------
def tampered_copy(default_model, directory, blob):
    os.makedirs(directory)
    path = os.path.join(directory, "model.joblib")
    with open(path, "wb") as f:
        f.write(blob)
    with open(default_model.replace(".joblib", ".json"), encoding="utf-8") as f:
        manifest = json.load(f)
    manifest["sha256"] = hashlib.sha256(blob).hexdigest()  # the attacker edits the hash to match
    with open(os.path.join(directory, "model.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=2, sort_keys=True)
    return path


class Payload:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, ("touch %s" % self.marker,))


def test_9_a_tampered_model_never_runs_and_is_refused(simulator, tmp_path, default_model):
    marker = tmp_path / "payload-ran"
    evil = tampered_copy(default_model, str(tmp_path / "evil"), pickle.dumps(Payload(str(marker))))
    proc = inventory(simulator, write_config(tmp_path, model_path=evil))
    assert proc.returncode != 0 and "refused before it is unpickled" in proc.stderr, proc.stderr
    assert not marker.exists(), "the payload ran"
    # a different, valid model (the estimator saved again: other bytes), the hash edited to match
    buf = io.BytesIO()
    joblib.dump(joblib.load(default_model), buf, compress=1)
    other = tampered_copy(default_model, str(tmp_path / "other"), buf.getvalue())
    proc = inventory(simulator, write_config(tmp_path, model_path=other))
    assert proc.returncode != 0 and "origin is not proven: it has no signature" in proc.stderr, proc.stderr
    # under the documented unsafe opt-out it loads, with a warning that says so
    proc = inventory(simulator, write_config(tmp_path, model_path=other, allow_unsigned_model=True))
    assert proc.returncode == 0 and "UNSAFE" in proc.stderr, proc.stderr
    # an object that is not a model, under the opt-out: one clear line, no traceback
    notmodel = tampered_copy(default_model, str(tmp_path / "notmodel"), pickle.dumps({"estimator": "a dict"}))
    proc = inventory(simulator, write_config(tmp_path, model_path=notmodel, allow_unsigned_model=True))
    assert proc.returncode != 0 and "holds a dict, not a fitted FPS classifier" in proc.stderr, proc.stderr
    assert "Traceback" not in proc.stderr


# 10 ------------------------------------------------------------------------------------------------------------
def test_10_an_empty_failover_host_list_is_one_clear_line_and_changes_nothing(simulator, tmp_path):
    story(simulator)
    before = observe(simulator)
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/failover.yml", "-i", DEMO, "-e",
                           "mirroring_failover_hosts="], cwd=ROOT, env=playbook_env(simulator), capture_output=True,
                          text=True, timeout=300, check=False)
    assert proc.returncode != 0 and "mirroring_failover_hosts must name primaries of the inventory" in proc.stdout
    assert "hostvars['']" not in proc.stdout + proc.stderr
    assert observe(simulator) == before


def test_10_budget_zero_names_the_cost_of_minimal_not_dependency_floors():
    result, failed = run_module(mirror_plan, {"vms": [{"name": "a", "fps": 50.0}, {"name": "b", "fps": 90.0}], "budget": 0})
    assert failed and "every one of the 2 VMs at minimal" in result["msg"] and "floor" not in result["msg"]


def test_10_a_model_path_that_is_a_directory_says_so(simulator, tmp_path, default_model):
    proc = inventory(simulator, write_config(tmp_path, model_path=os.path.dirname(default_model)))
    assert proc.returncode != 0 and "is a directory: give the model file" in proc.stderr


def test_10_the_readme_example_inventory_exists_and_uses_only_real_options():
    path = os.path.join(ROOT, "inventories", "example", "prod.vsphere_fps.yml")
    with open(path, encoding="utf-8") as f:
        config = yaml.safe_load(f)
    doc = subprocess.run([os.path.join(BIN, "ansible-doc"), "-t", "inventory", "--json", "predictive.mirroring.vsphere_fps"],
                         cwd=ROOT, env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg")),
                         capture_output=True, text=True, check=True, timeout=120)
    options = json.loads(doc.stdout)["predictive.mirroring.vsphere_fps"]["doc"]["options"]
    assert set(config) <= set(options), set(config) - set(options)
    with open(os.path.join(ROOT, "README.md"), encoding="utf-8") as f:
        assert "inventories/example/prod.vsphere_fps.yml" in f.read()
