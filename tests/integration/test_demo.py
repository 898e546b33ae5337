"""The README's demo: its table, and its refusal of a taken port."""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys

from rig.procs import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def demo(port):
    return subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "demo.py")], capture_output=True, text=True,
                          timeout=900, check=False, env=dict(os.environ, PM_DEMO_PORT=str(port)))


def test_demo_tells_the_whole_story_with_the_runs_numbers():
    run = demo(free_port())
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    out = run.stdout
    table = out.split("1. The fleet, scored and tiered")[1].split("==>")[0]
    rows = {line.split()[0]: line.split() for line in table.splitlines() if line.strip().startswith("DC0_")}
    assert sorted(rows) == ["DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1", "DC0_C0_RP0_VM2", "DC0_C0_RP0_VM3"]
    fps = {vm: float(r[2]) for vm, r in rows.items()}
    # the degrading VMs of the story score above the healthy ones and get mirrors; the healthy ones do not
    assert min(fps["DC0_C0_RP0_VM1"], fps["DC0_C0_RP0_VM2"]) > max(fps["DC0_C0_RP0_VM0"], fps["DC0_C0_RP0_VM3"])
    assert rows["DC0_C0_RP0_VM0"][3] == "minimal" and rows["DC0_C0_RP0_VM0"][4] == "-"
    assert rows["DC0_C0_RP0_VM2"][4] == "DC0_C0_RP0_VM2-mirror"
    # the service VM climbs, is failed over before it dies, and nothing is lost
    climbed = out.split("2. DC0_C0_RP0_VM3 degrades")[1].split("==>")[0]
    levels = [line.split()[3] for line in climbed.splitlines() if line.split()[:2] == ["DC0_C0_RP0_VM3", "DC0"]]
    assert levels and levels[0] in ("partial", "full")
    assert "FAILOVER NOW" in out.split("3. It gets worse")[1].split("==>")[0]
    http = re.search(r"HTTP: (\d+) requests, (\d+) failed \((\d+) answered by the mirror\)", out)
    rows_line = re.search(r"PostgreSQL: (\d+) rows committed during the run, (\d+) lost", out)
    assert http and int(http.group(1)) > 100 and int(http.group(2)) == 0 and int(http.group(3)) > 0
    assert rows_line and int(rows_line.group(1)) > 0 and int(rows_line.group(2)) == 0
    assert re.search(r"DC0_C0_RP0_VM3 predictive failover at \S+ \(FPS [\d.]+\): confirmed", out)
    cost = re.search(r"planned mirroring ([\d.]+) a month; expected loss with nothing mirrored ([\d.]+), covered ([\d.]+)", out)
    assert cost and float(cost.group(3)) > float(cost.group(1)) > 0
    assert "Stopping the simulator" in out


def test_demo_on_a_taken_port_says_so_and_exits_nonzero():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        run = demo(port)
    assert run.returncode != 0
    assert "port %d is taken" % port in run.stderr
    assert "Starting the vCenter simulator" not in run.stdout
