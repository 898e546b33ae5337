"""Running ansible-inventory with the vsphere_fps plugin and reading its --list output."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def write_config(tmp_path, **options):
    """A vsphere_fps inventory file scoped to DC0, with `options`."""
    cfg = {"plugin": "predictive.mirroring.vsphere_fps", "datacenters": ["DC0"]}
    cfg.update(options)
    path = tmp_path / "test.vsphere_fps.yml"
    path.write_text(json.dumps(cfg))  # JSON is YAML
    return str(path)


def inventory(sim, config, *extra, env=None, check=True):
    """ansible-inventory --list against `sim`: the plain listing, or with check=False the finished process."""
    run_env = dict(os.environ, **sim.env(), ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"))
    run_env.update(env or {})
    proc = subprocess.run([os.path.join(BIN, "ansible-inventory"), "-i", config, "--list"] + list(extra), cwd=ROOT,
                          env=run_env, capture_output=True, text=True, timeout=300, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
        return plain(json.loads(proc.stdout))
    return proc


def hosts(inv, group):
    return sorted(inv.get(group, {}).get("hosts", []))


def plain(value):
    """ansible-inventory --list marks inventory strings untrusted ({"__ansible_unsafe": ...}); unwrap them."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value
