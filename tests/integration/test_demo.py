"""The README's demo: its table, and its refusal of a taken port."""
from __future__ import annotations

import os
import socket
import subprocess
import sys

from rig.procs import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo(port):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo.py")], capture_output=True, text=True,
                          timeout=300, check=False, env=dict(os.environ, PM_DEMO_PORT=str(port)))


def test_demo_prints_every_primary_vm_with_fps_and_level():
    run = demo(free_port())
    assert run.returncode == 0, run.stderr[-2000:]
    table = run.stdout.split("Each VM's Failure Probability Score and level")[1]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.strip().startswith("DC0_")}
    assert sorted(rows) == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"]
    fps = {vm: float(r[2]) for vm, r in rows.items()}
    # the degrading VMs of the story score above the healthy ones
    assert min(fps["DC0_C0_RP0_VM1"], fps["DC0_C0_RP0_VM2"]) > max(fps["DC0_C0_RP0_VM0"], fps["DC0_C0_RP0_VM3"])
    assert rows["DC0_C0_RP0_VM0"][3] == "minimal"
    assert "Stopping the simulator" in run.stdout


def test_demo_on_a_taken_port_says_so_and_exits_nonzero():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        run = demo(port)
    assert run.returncode != 0
    assert "port %d is taken" % port in run.stderr
    assert "Starting the vCenter simulator" not in run.stdout
