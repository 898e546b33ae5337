"""Running the collection's playbooks from the tests, with every task result recorded."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run_playbook(sim, playbook, inventory, *extra, workdir=None, ok=True):
    """ansible-playbook playbooks/<playbook>.yml against the simulator; (stats of localhost, {task: localhost result}).
    ok=False: the run must fail; its output (stdout and stderr)."""
    record = os.path.join(workdir or sim.workdir, "results.json")
    env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), RECORD_RESULTS=record,
               ANSIBLE_CALLBACK_PLUGINS=os.path.join(ROOT, "tests", "integration", "callback"),
               ANSIBLE_CALLBACKS_ENABLED="record_results", PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible-playbook"), "playbooks/%s.yml" % playbook, "-i", inventory]
                          + list(extra), cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    if not ok:
        assert proc.returncode != 0, proc.stdout[-3000:]
        return proc.stdout + proc.stderr
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    with open(record, encoding="utf-8") as f:
        out = json.load(f)
    tasks = {name: hosts["localhost"] for name, hosts in out["tasks"].items() if "localhost" in hosts}
    return out["stats"]["localhost"], tasks


def recap_changed(stdout):
    """The PLAY RECAP's changed count of every host: {host: changed}. Every playbook's first play (the scope role)
    runs on all:localhost, so every inventory host has a line."""
    return {line.split()[0]: int(line.split("changed=")[1].split()[0]) for line in stdout.splitlines()
            if "changed=" in line and " : ok=" in line}
