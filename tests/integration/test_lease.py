"""Issue 31: a failed, refused or killed run never blocks the next one.

The vCenter lease is observed in vCenter itself (the lease folder and its record), the runs are real
ansible-playbook processes against the simulator, and the next run is started with a short lease wait, so any
lease left behind would fail it.
"""
from __future__ import annotations

import datetime
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from pyVmomi import vim

from ansible_collections.predictive.mirroring.plugins.module_utils import lease, vsphere
from rig.procs import kill_tree
from rig.proxy import DrippingProxy
from rig.simulator import Simulator

from rig.estate import DEMO, SICK, conn, mirrors_of, observe, one_mirror_each, playbook_env, start_playbook, story
from rig.play import BIN, ROOT, recap_changed


def held(sim):
    with vsphere.VSphere(**conn(sim)) as vs:
        return lease.Lease(vs, "observer").read()


def given_back(sim, within=5.0):
    """Whether the lease is gone from vCenter within `within` seconds (its keeper polls the run once a second)."""
    deadline = time.monotonic() + within
    while held(sim) is not None:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def reconcile(sim, *extra):
    """One reconcile run to its end: (return code, output, seconds)."""
    started = time.monotonic()
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/reconcile.yml", "-i", DEMO] + list(extra),
                          cwd=ROOT, env=playbook_env(sim), capture_output=True, text=True, timeout=600, check=False)
    return proc.returncode, proc.stdout + proc.stderr, time.monotonic() - started


def rename(sim, old, new):
    with vsphere.VSphere(**conn(sim)) as vs:
        ref = next(v["_ref"] for v in vs.virtual_machines() if v["name"] == old)
        vs.wait_task(ref.Rename_Task(newName=new), "rename")


def test_refused_runs_hold_no_lease_and_the_next_run_starts_at_once(simulator):
    story(simulator)
    before = observe(simulator)
    refusals = [
        (("-e", "mirroring_budget=-5"), "budget"),
        (("-e", "mirroring_history_path=/etc/hostname/history.sqlite"), "history"),
        (("-e", "mirroring_minimal_mirror=bogus"), "minimal_mirror"),
    ]
    for extra, says in refusals:
        code, out, _seconds = reconcile(simulator, *extra)
        assert code != 0 and says in out, out[-3000:]
        assert given_back(simulator), (extra, held(simulator))
        assert observe(simulator) == before, extra
    # a stranger in the secondary datacenter carries the sick VM's mirror name: that run is refused too
    rename(simulator, "DC1_C0_RP0_VM0", SICK + "-mirror")
    code, out, _seconds = reconcile(simulator)
    assert code != 0 and "is not a mirror of %s" % SICK in out, out[-3000:]
    assert given_back(simulator)
    rename(simulator, SICK + "-mirror", "DC1_C0_RP0_VM0")
    # corrected: a lease left behind would fail this run after 5 s
    code, out, _seconds = reconcile(simulator, "-e", "mirroring_lease_wait=5")
    assert code == 0, out[-3000:]
    counts = one_mirror_each(simulator)
    assert counts and set(counts.values()) == {1}, counts
    assert held(simulator) is None  # a run that ends well gives it back itself
    code, out, _seconds = reconcile(simulator, "-e", "mirroring_lease_wait=5")
    counts = recap_changed(out)
    assert code == 0 and "localhost" in counts and set(counts.values()) == {0}, out[-3000:]


def test_a_run_killed_with_its_keeper_is_taken_over_at_once_on_the_same_machine(tmp_path):
    sim = Simulator(workdir=str(tmp_path / "sim"), method_delay={"CloneVM_Task": 6000})
    os.makedirs(sim.workdir)
    sim.start()
    try:
        story(sim)
        # the keeper is stopped first, so it cannot give the lease back: as if the machine's processes all died
        first = start_playbook(sim, "reconcile", log=str(tmp_path / "killed.log"))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not any(v["snapshots"] for v in observe(sim) if v["name"] == SICK):
            time.sleep(0.3)  # the batch has begun: its first snapshot exists
        time.sleep(1.5)  # inside the 6 s CloneVM_Task call
        # the process the record names, alive and the very one (its start time): this machine's pid_max is 32768, and
        # under two test commands pids come round within minutes - a record still naming the ended module that took
        # the lease would have this test kill whatever process has that pid since
        record = held(sim)
        while record and lease.process_start(record["pid"]) != record.get("pid_start") and time.monotonic() < deadline:
            time.sleep(0.2)
            record = held(sim)
        assert record is not None and lease.process_start(record["pid"]) == record["pid_start"], record
        os.kill(record["pid"], signal.SIGKILL)
        # every process of the run, not only its process group: ansible-core's task workers call setsid, and a
        # vm_mirror left alive went on finishing its clone while the next run, faster since it scores on the model's
        # trees, met that half-made mirror ("already exists") - another test's story, not this one's
        assert kill_tree(first)
        first.wait(timeout=30)
        time.sleep(1)
        assert held(sim)["owner"] == record["owner"]  # still there, its keeper gone
        # its record says 90 s more; a lease left to expire would fail this run after 5 s
        code, out, _seconds = reconcile(sim, "-e", "mirroring_lease_wait=5")
        assert code == 0, out[-3000:]
        counts = one_mirror_each(sim)
        assert counts and set(counts.values()) == {1}, counts
        assert held(sim) is None
    finally:
        sim.stop()


def test_a_lease_whose_keeper_took_over_while_it_was_judged_is_not_taken(simulator):
    """Two runs at once (found with two test commands on one machine): run B reads run A's record, which still names the
    module that took the lease; before B judges it, A's keeper names itself in it and the module returns and ends. B
    must not take the lease over on the record it read: only the record read again is judged."""
    module = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # pylint: disable=consider-using-with
    try:
        with vsphere.VSphere(**conn(simulator)) as vs:
            a = lease.Lease(vs, "reconcile@here:aaa")
            a.acquire(wait=0)
            folder = next(c for c in vs.content.rootFolder.childEntity
                          if isinstance(c, vim.Folder) and c.name == lease.LEASE_FOLDER)
            a._write(folder, holder={"host": lease.HOST, "pid": module.pid,  # pylint: disable=protected-access
                                     "pid_start": lease.process_start(module.pid)})
            b = lease.Lease(vs, "reconcile@here:bbb")
            server_now, meanwhile = b._server_now, []  # pylint: disable=protected-access

            def judged_late():  # between B's read of the record and its judgement of it
                if not meanwhile:
                    meanwhile.append(a.renew(holder=lease.this_process()))  # A's keeper (alive) names itself
                    module.kill()
                    module.wait()  # and the module that took the lease has returned
                return server_now()
            b._server_now = judged_late  # pylint: disable=protected-access
            with pytest.raises(lease.LeaseError, match="held by another run: reconcile@here:aaa"):
                b.acquire(wait=2, poll=0.5)
            assert meanwhile and module.poll() is not None
            rec = held(simulator)
            assert rec["owner"] == "reconcile@here:aaa" and rec["pid"] == os.getpid()
            a.release()
    finally:
        module.kill()
        module.wait()


def test_a_lease_from_another_machine_is_taken_over_one_ttl_after_its_last_renewal(simulator):
    with vsphere.VSphere(**conn(simulator)) as vs:
        other = lease.Lease(vs, "reconcile@elsewhere:abc", ttl=15)
        other.acquire(wait=0)
        folder = next(c for c in vs.content.rootFolder.childEntity
                      if isinstance(c, vim.Folder) and c.name == lease.LEASE_FOLDER)
        # as the keeper on another machine would have written it
        other._write(folder, holder={"host": "elsewhere/00000000", "pid": os.getpid(), "pid_start": 1})  # pylint: disable=protected-access
        started = time.monotonic()
        ours = lease.Lease(vs, "reconcile@here:def", ttl=15)
        rec = ours.acquire(wait=60, poll=0.5)
        waited = time.monotonic() - started
        assert rec["took_over"] == "reconcile@elsewhere:abc"
        assert 10 <= waited <= 15 + 10, waited
        ours.release()
    assert held(simulator) is None


def test_a_module_alone_keeps_its_own_lease_through_a_clone_longer_than_the_ttl(tmp_path):
    from common.utils import run_module  # pylint: disable=import-outside-toplevel
    from ansible_collections.predictive.mirroring.plugins.modules import vm_mirror  # pylint: disable=import-outside-toplevel
    sim = Simulator(workdir=str(tmp_path / "sim"), method_delay={"CloneVM_Task": 14000})
    os.makedirs(sim.workdir)
    sim.start()
    try:
        args = dict(conn(sim), vms=[{"name": "DC0_C0_RP0_VM0", "level": "partial"}], secondary_datacenter="DC1",
                    lease_ttl=10, history_path=str(tmp_path / "h.sqlite"))
        contender = {}

        def contend():  # another writer, from the moment the clone has begun until past the module's 10 s TTL
            while not any(v["snapshots"] for v in observe(sim) if v["name"] == "DC0_C0_RP0_VM0"):
                time.sleep(0.2)
            with vsphere.VSphere(**conn(sim)) as vs:
                try:
                    lease.Lease(vs, "contender", ttl=10).acquire(wait=12, poll=0.5)
                    contender["took"] = True
                except lease.LeaseError as e:
                    contender["refused"] = str(e)

        thread = threading.Thread(target=contend)
        thread.start()
        result, failed = run_module(vm_mirror, args)
        thread.join(timeout=60)
        assert not failed, result
        assert "module@" in contender.get("refused", ""), contender  # renewed through the 14 s clone
        seen = observe(sim)
        primary = next(v for v in seen if v["name"] == "DC0_C0_RP0_VM0" and v["datacenter"] == "DC0")
        assert len(mirrors_of(seen, primary["instance_uuid"])) == 1
        assert held(sim) is None
    finally:
        sim.stop()


def test_a_renewal_moves_the_expiry_and_keeps_when_it_was_acquired_and_by_whom(simulator):
    with vsphere.VSphere(**conn(simulator)) as vs:
        ours = lease.Lease(vs, "reconcile@here:renew", ttl=30)
        first = ours.acquire(wait=0)
        time.sleep(1.2)  # vCenter's clock moves on
        renewed = ours.renew()
        seen = held(simulator)
        assert seen["acquired"] == first["acquired"] == renewed["acquired"], (first, seen)
        assert seen["expires"] > datetime.datetime.fromisoformat(first["expires"]), (first, seen)
        assert (seen["host"], seen["pid"], seen["pid_start"]) == (first["host"], first["pid"], first["pid_start"])
        ours.release()
    assert held(simulator) is None


def test_a_module_reads_its_lease_before_every_vm_and_writes_it_only_every_third_of_its_ttl(simulator):
    """vm_mirror (and every writing module) checks the playbook's lease before each VM: a lease released by force or
    taken over stops the very next VM. It writes the record again only when a third of the TTL has passed since it
    last did, as the keeper does: at 10,000 VMs, a write per VM was most of first protection's vCenter calls."""
    with vsphere.VSphere(**conn(simulator)) as admin:
        ours = lease.Lease(admin, "reconcile@here:per-vm", ttl=10)
        ours.acquire(wait=0)
        with vsphere.VSphere(**conn(simulator)) as vs, lease.Writer(vs, ours.owner, ttl=10) as writer:
            entered = held(simulator)  # the module renewed it as it started
            writer.renew()
            writer.renew()
            assert held(simulator)["expires"] == entered["expires"]  # read, not written
            time.sleep(10 / 3.0 + 0.3)
            writer.renew()
            renewed = held(simulator)
            assert renewed["expires"] > entered["expires"] and renewed["acquired"] == entered["acquired"]
            ours.release(force=True)  # an operator breaks the lease: the next VM is refused, not a third of a TTL later
            with pytest.raises(lease.LeaseError, match="does not hold the lease"):
                writer.renew()
            taker = lease.Lease(admin, "reconcile@there:taker", ttl=10)
            taker.acquire(wait=0)  # and another run holds it now, in a new folder: still refused, naming it
            with pytest.raises(lease.LeaseError, match="reconcile@there:taker does"):
                writer.renew()
        taker.release()


def test_a_keeper_whose_session_vcenter_ended_logs_in_again_and_keeps_the_lease(simulator):
    """vCenter restarted or an administrator ended the keeper's session: the keeper's renewals fail with
    NotAuthenticated. It must log in again and renew, not spin on a dead session until the lease expires under a
    run that is still writing."""
    with vsphere.VSphere(**conn(simulator)) as admin:
        ours = lease.Lease(admin, "reconcile@here:relogin", ttl=10)
        ours.acquire(wait=0)
        keeper_vs = admin.another()
        running = threading.Event()
        running.set()
        keeper = threading.Thread(target=lease.keep, args=(keeper_vs, ours.owner, 10, running.is_set),
                                  kwargs={"poll": 0.2}, daemon=True)
        keeper.start()
        try:
            deadline = time.monotonic() + 10
            while keeper_vs.si is None and time.monotonic() < deadline:
                time.sleep(0.05)
            key = keeper_vs.content.sessionManager.currentSession.key
            admin.content.sessionManager.TerminateSession(sessionId=[key])
            assert key not in [s.key for s in admin.content.sessionManager.sessionList]
            ended = held(simulator)["expires"]
            time.sleep(10 + 2)  # past the expiry the lease had when its session was ended
            seen = held(simulator)
            assert keeper.is_alive()
            assert seen is not None and seen["owner"] == ours.owner
            assert seen["expires"] > ended, (ended, seen)  # renewed through a new session
            assert keeper_vs.content.sessionManager.currentSession.key != key
        finally:
            running.clear()
            keeper.join(timeout=15)
    assert not keeper.is_alive()
    assert held(simulator) is None  # given back when the run ended


KEEPER_KILLED = """
- name: Take the lease, wait for the test's word, then use the lease
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Hold the lease
      predictive.mirroring.vcenter_lease:
        purpose: probe
      register: held
    - name: Wait for the test's word
      ansible.builtin.wait_for:
        path: "{{ go }}"
        timeout: 120
    - name: Still ours - taken again by its own owner without waiting
      predictive.mirroring.vcenter_lease:
        owner: "{{ held.owner }}"
        wait: 0
    - name: Give it back
      predictive.mirroring.vcenter_lease:
        state: released
        owner: "{{ held.owner }}"
"""


def test_a_keeper_killed_while_its_run_lives_leaves_the_lease_to_the_run(simulator, tmp_path):
    """The record named only the keeper, so a keeper that died (or, found under load, could not log in when the
    run took the lease) let the next run on this machine take the lease at once from a run still writing."""
    book, go = tmp_path / "probe.yml", tmp_path / "go"
    book.write_text(KEEPER_KILLED, encoding="utf-8")
    with open(tmp_path / "probe.log", "w", encoding="utf-8") as log:
        run = subprocess.Popen([os.path.join(BIN, "ansible-playbook"), str(book), "-e", "go=%s" % go],  # pylint: disable=consider-using-with
                               cwd=ROOT, env=playbook_env(simulator), stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        record = held(simulator)
        # until the keeper (alive, detached from the run; not the module that took the lease) has named itself
        while (record is None or record.get("run_pid") is None or record["pid"] in lease.descendants([run.pid])
               or lease.process_start(record["pid"]) != record["pid_start"]) and time.monotonic() < deadline:
            time.sleep(0.2)
            record = held(simulator)
        assert record and record["run_pid"] == run.pid and record["run_start"] == lease.process_start(run.pid), record
        os.kill(record["pid"], signal.SIGKILL)
        while lease.process_start(record["pid"]) is not None and time.monotonic() < deadline:
            time.sleep(0.1)
        with vsphere.VSphere(**conn(simulator)) as vs:
            with pytest.raises(lease.LeaseError, match="held by another run: %s" % record["owner"]):
                lease.Lease(vs, "reconcile@here:next").acquire(wait=2, poll=0.5)
        go.write_text("go", encoding="utf-8")
        assert run.wait(timeout=120) == 0, (tmp_path / "probe.log").read_text(encoding="utf-8")[-3000:]
        assert held(simulator) is None
    finally:
        run.kill()
        run.wait()


def test_a_keeper_whose_first_login_vcenter_did_not_answer_keeps_trying_while_its_run_lives(simulator):
    host, port = simulator.hostport()
    proxy = DrippingProxy(host, port)
    run = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])  # pylint: disable=consider-using-with
    alive = threading.Event()
    alive.set()
    try:
        with vsphere.VSphere(**conn(simulator)) as vs:
            ours = lease.Lease(vs, "reconcile@here:slowlogin", ttl=15)
            # as the module writes it: the run, until the keeper names itself
            taken = ours.acquire(wait=0, holder={"host": lease.HOST, "pid": run.pid,
                                                 "pid_start": lease.process_start(run.pid)})
        proxy.drip(1.0)  # vCenter, as the keeper reaches it, answers a byte a second: its 2 s login fails
        keeper_vs = vsphere.VSphere(**dict(conn(simulator), hostname="127.0.0.1", port=proxy.port, timeout=2))
        claims = []
        keeper = threading.Thread(target=lease.keep, args=(keeper_vs, ours.owner, 15, alive.is_set), daemon=True,
                                  kwargs={"poll": 0.2, "claim": claims.append, "run_pid": run.pid})
        keeper.start()
        deadline = time.monotonic() + 20
        while not claims and time.monotonic() < deadline:
            time.sleep(0.1)
        assert claims and "did not answer within 2 s" in claims[0], claims
        proxy.drip(None)  # and answers again
        record = held(simulator)
        while record["pid"] != os.getpid() and time.monotonic() < deadline:
            time.sleep(0.2)
            record = held(simulator)
        assert keeper.is_alive()
        assert (record["owner"], record["pid"], record["run_pid"]) == (ours.owner, os.getpid(), run.pid), record
        assert record["expires"] > datetime.datetime.fromisoformat(taken["expires"])
        assert claims == [claims[0]]  # told once
        alive.clear()  # the run ended: the keeper gives the lease back
        keeper.join(timeout=15)
        assert not keeper.is_alive() and held(simulator) is None
    finally:
        alive.clear()
        run.kill()
        run.wait()
        proxy.stop()
