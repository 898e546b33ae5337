"""The schedule role: a cron entry, idempotent, and a wrapper whose lock keeps two runs from overlapping."""
from __future__ import annotations

import os
import subprocess
import sys
import time


# the entry goes into the crontab of a user no other test writes to: pytest spreads tests over workers
# (--dist loadgroup), and two crontab writers at once lose each other's edits
USER = "nobody"

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)

PLAY = """---
- hosts: localhost
  gather_facts: false
  roles:
    - role: predictive.mirroring.schedule
"""


def apply_role(tmp_path, name, state="present"):
    play = tmp_path / "play.yml"
    play.write_text(PLAY)
    extra = {
        "mirroring_schedule_name": name, "mirroring_schedule_state": state, "mirroring_schedule_user": USER,
        "mirroring_schedule_inventory": str(tmp_path / "prod.vsphere_fps.yml"),
        "mirroring_schedule_ansible_playbook": str(tmp_path / "fake-ansible-playbook"),
        "mirroring_schedule_env_file": str(tmp_path / "vcenter.env"),
        "mirroring_schedule_lock_file": str(tmp_path / "reconcile.lock"),
        "mirroring_schedule_log_file": str(tmp_path / "reconcile.log"),
        "mirroring_schedule_wrapper": str(tmp_path / "reconcile-wrapper"),
    }
    args = [os.path.join(BIN, "ansible-playbook"), str(play), "-i", "localhost,", "-c", "local",
            "-e", "ansible_python_interpreter=" + sys.executable]
    for k, v in extra.items():
        args += ["-e", "%s=%s" % (k, v)]
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    proc = subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    return int(proc.stdout.split("changed=")[1].split()[0])


def crontab():
    proc = subprocess.run(["crontab", "-u", USER, "-l"], capture_output=True, text=True, check=False)
    return proc.stdout if proc.returncode == 0 else ""


def test_cron_entry_lock_and_removal(tmp_path):
    name = "pm-test-%d" % os.getpid()
    fake = tmp_path / "fake-ansible-playbook"
    runs = tmp_path / "runs.txt"
    fake.write_text("#!/bin/sh\necho \"$VMWARE_HOST $*\" >> %s\nsleep 2\n" % runs)
    fake.chmod(0o755)
    (tmp_path / "vcenter.env").write_text("VMWARE_HOST=vc.example.com\n")
    try:
        assert apply_role(tmp_path, name) > 0
        entry = [line for line in crontab().splitlines() if str(tmp_path / "reconcile-wrapper") in line]
        assert len(entry) == 1 and entry[0].startswith("*/15 * * * *")
        assert "#Ansible: %s" % name in crontab()
        assert apply_role(tmp_path, name) == 0  # idempotent

        wrapper = str(tmp_path / "reconcile-wrapper")
        first = subprocess.Popen([wrapper])  # pylint: disable=consider-using-with
        time.sleep(0.5)
        second = subprocess.run([wrapper], timeout=30, check=False)  # finds the lock taken: leaves at once
        assert first.wait(30) == 0 and second.returncode == 0
        lines = runs.read_text().splitlines()  # one run only, with the env file's credentials
        assert len(lines) == 1
        assert lines[0].startswith("vc.example.com -i %s " % (tmp_path / "prod.vsphere_fps.yml"))
        assert lines[0].endswith("playbooks/reconcile.yml")
        assert apply_role(tmp_path, name, state="absent") > 0
        assert name not in crontab() and not os.path.exists(wrapper)
    finally:
        if name in crontab():
            kept = "\n".join(line for line in crontab().splitlines() if name not in line and "reconcile-wrapper" not in line)
            subprocess.run(["crontab", "-u", USER, "-"], input=kept + "\n", text=True, check=False)
