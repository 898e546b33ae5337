"""File data on the mirror, with real rsync and lsyncd on loopback: periodic at partial (cron, under a lock), within
seconds at full, torn down when the level drops; a switchover makes the mirror's copy authoritative and failback
brings every file written on it back."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import pytest

from rig.play import BIN, ROOT
from rig.procs import free_port

# these tests change root's crontab; no other test file does (test_schedule uses nobody's, test_replication
# postgres'), and this one touches only its own entries
# the entry is named by the sync's state file base (state dir / name): two syncs of one name never share it
CRON_NAME = "predictive.mirroring files %s/pmtest_files"


def crontab():
    proc = subprocess.run(["crontab", "-l"], capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def cron_job(state):
    """The job line of our entry (the sync whose state dir is `state`), as cron would run it (None when none)."""
    lines = crontab().splitlines()
    for i, line in enumerate(lines):
        if line == "#Ansible: " + CRON_NAME % state:
            return lines[i + 1]
    return None


def tree(root):
    """{relative path: content} of every file below root."""
    out = {}
    for base, _dirs, files in os.walk(root):
        for f in files:
            path = os.path.join(base, f)
            with open(path, encoding="utf-8") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def lsyncd_pid(state):
    try:
        with open(os.path.join(state, "pmtest_files.lsyncd.pid"), encoding="utf-8") as f:
            pid = f.read().strip()
        with open("/proc/%s/cmdline" % pid, "rb") as f:
            return int(pid) if b"lsyncd" in f.read() else None
    except (OSError, ValueError):
        return None


def wait_for(check, timeout):
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        time.sleep(0.1)
    raise AssertionError("not within %s s" % timeout)


@pytest.fixture
def rsyncd(tmp_path):
    """The mirror's side: an rsync daemon on 127.0.0.1 serving its own directory as module 'mirror'."""
    root = tmp_path / "mirror"
    root.mkdir()
    port = free_port()
    conf = tmp_path / "rsyncd.conf"
    conf.write_text("use chroot = false\nuid = root\ngid = root\npid file = %s\n[mirror]\n  path = %s\n"
                    "  read only = false\n" % (tmp_path / "rsyncd.pid", root))
    proc = subprocess.Popen(["rsync", "--daemon", "--no-detach", "--config=%s" % conf, "--address=127.0.0.1",
                             "--port=%d" % port])
    try:
        wait_for(lambda: subprocess.run(["rsync", "rsync://127.0.0.1:%d/" % port], capture_output=True,
                                        check=False).returncode == 0, 10)
        yield "rsync://127.0.0.1:%d/mirror" % port, str(root)
    finally:
        proc.terminate()
        proc.wait(10)


def test_files_follow_the_level_and_come_back_on_failback(tmp_path, rsyncd):
    target, mirror_root = rsyncd
    data = str(tmp_path / "primary" / "srv" / "app" / "data")
    conf = str(tmp_path / "primary" / "etc" / "app")
    state = str(tmp_path / "state")
    for path, text in ((data + "/orders/1.json", "one"), (data + "/orders/2.json", "two"), (conf + "/app.ini", "x=1")):
        write(path, text)
    playbook = tmp_path / "files.yml"
    playbook.write_text("- hosts: localhost\n  gather_facts: false\n  roles: [predictive.mirroring.files]\n")

    def ours():
        """This test's lines of root's crontab: another test command on this machine (or another worker) edits the
        same file at the same time, so the whole of it is no measure of what this test's runs changed."""
        return [line for line in crontab().splitlines() if str(tmp_path) in line]

    saved_crontab = ours()

    def play(level, *extra, ok=True, paths=None):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
        variables = {"mirroring_files_level": level, "mirroring_files_paths": paths or [data, conf],
                     "mirroring_files_target": target, "mirroring_files_name": "pmtest_files",
                     "mirroring_files_state_dir": state, "vm_name": "app01",
                     "ansible_python_interpreter": sys.executable}
        proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local",
                               "-e", json.dumps(variables)] + list(extra), cwd=ROOT, env=env, capture_output=True,
                              text=True, timeout=300, check=False)
        assert (proc.returncode == 0) == ok, proc.stdout[-4000:] + proc.stderr[-2000:]
        recap = re.search(r"localhost\s+: ok=\d+\s+changed=(\d+)", proc.stdout)
        return int(recap.group(1)) if recap else None, proc.stdout

    def on_mirror(path):
        return os.path.join(mirror_root, path.lstrip("/"))

    try:
        # bad input first: refused with one message, nothing written, the crontab as it was
        for bad in ([data + "; rm -rf /"], ["relative/path"], [data + "/../../etc"], [data + " " + conf], [data + "\n"]):
            out = play("partial", ok=False, paths=bad)[1]
            assert "File sync of app01 refused, nothing changed" in out
        out = play("partial", "-e", "mirroring_files_target='rsync://h/m;reboot'", ok=False)[1]
        assert "refused, nothing changed" in out
        assert not os.path.exists(state) and ours() == saved_crontab and cron_job(state) is None

        # partial: a cron entry under a lock, and the mirror brought up to date now
        changed = play("partial", "--check", "--diff")[0]
        assert changed and cron_job(state) is None and not os.path.exists(on_mirror(data))
        changed = play("partial")[0]
        assert changed
        assert tree(on_mirror(data)) == tree(data) and tree(on_mirror(conf)) == tree(conf)
        job = cron_job(state)
        assert job and job.startswith("*/15 * * * * ") and state + "/pmtest_files.sync" in job
        stamp = os.path.join(state, "pmtest_files.synced")
        assert abs(int(open(stamp, encoding="utf-8").read()) - time.time()) < 60
        again = play("partial", "-v")
        assert again[0] == 0, again[1][-6000:]  # a second run changes nothing
        # a second sync of the same name (a namesake VM) with its own state dir has an entry of its own, and taking
        # it down leaves ours alone (entries were named by the sync's name alone: the second took the first's place)
        other = str(tmp_path / "state-other")
        assert play("partial", "-e", "mirroring_files_state_dir=" + other)[0]
        assert cron_job(other) and cron_job(state) == job
        assert play("minimal", "-e", "mirroring_files_state_dir=" + other)[0]
        assert cron_job(other) is None and cron_job(state) == job
        # what cron runs, run as cron would: a new file and a deletion reach the mirror in that one run
        write(data + "/orders/3.json", "three")
        os.remove(data + "/orders/1.json")
        started = time.monotonic()
        subprocess.run(["sh", "-c", job.split(" ", 5)[5]], check=True)
        took = time.monotonic() - started
        assert tree(on_mirror(data)) == tree(data) and "orders/1.json" not in tree(on_mirror(data))
        print("partial: one periodic run shipped the change in %.2f s (every 15 min: lag <= 15 min + that)" % took)
        # two at once: the lock lets one through, the other leaves at once
        locked = subprocess.Popen(["flock", os.path.join(state, "pmtest_files.lock"), "sleep", "2"])
        time.sleep(0.3)
        second = subprocess.run([state + "/pmtest_files.sync"], capture_output=True, text=True, check=False)
        locked.wait()
        assert second.returncode == 0 and "another sync of pmtest_files is running" in second.stderr

        # full: the cron entry gone, lsyncd ships each change within seconds, deletions too
        changed = play("full")[0]
        assert changed and cron_job(state) is None
        pid = lsyncd_pid(state)
        assert pid
        write(data + "/orders/4.json", "four")
        lag = wait_for(lambda: os.path.exists(on_mirror(data + "/orders/4.json")), 15)
        os.remove(data + "/orders/2.json")
        lag_delete = wait_for(lambda: not os.path.exists(on_mirror(data + "/orders/2.json")), 15)
        print("full: a new file on the mirror in %.2f s, a deletion in %.2f s" % (lag, lag_delete))
        assert lag < 10 and lag_delete < 10
        assert play("full")[0] == 0 and lsyncd_pid(state) == pid  # a second run changes nothing, lsyncd kept

        # switchover: a last sync, then nothing more ships: the mirror's copy is authoritative
        write(data + "/orders/5.json", "five")
        changed = play("switchover")[0]
        assert changed and lsyncd_pid(state) is None and cron_job(state) is None
        assert tree(on_mirror(data)) == tree(data)
        write(on_mirror(data + "/orders/6.json"), "six, written on the mirror while failed over")
        write(on_mirror(conf + "/app.ini"), "x=2")
        os.remove(on_mirror(data + "/orders/3.json"))
        write(data + "/stray.tmp", "the old primary's stray write after the switch")
        time.sleep(2)
        assert not os.path.exists(on_mirror(data + "/stray.tmp"))  # nothing ships from the old primary any more

        # failback: every file written on the mirror meanwhile comes back, deletions too
        changed = play("failback")[0]
        assert changed
        assert tree(data) == tree(on_mirror(data)) and tree(conf) == tree(on_mirror(conf))
        assert tree(data)["orders/6.json"].startswith("six") and "orders/3.json" not in tree(data)
        assert tree(conf)["app.ini"] == "x=2"

        # minimal: no sync of any kind left behind
        play("full")
        assert lsyncd_pid(state)
        changed = play("minimal")[0]
        assert changed and lsyncd_pid(state) is None and cron_job(state) is None
        assert not os.path.exists(os.path.join(state, "pmtest_files.lsyncd.lua"))
        assert play("minimal")[0] == 0
    finally:
        pid = lsyncd_pid(state)
        if pid:
            os.kill(pid, 15)
        if state in crontab():
            kept = "".join(line + "\n" for line in crontab().splitlines() if state not in line)
            subprocess.run(["crontab", "-"], input=kept, text=True, check=False)
