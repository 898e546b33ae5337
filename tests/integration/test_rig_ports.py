"""The rig's ports: outside the kernel's ephemeral range and reserved across processes (two test commands at once)."""
from __future__ import annotations

import os
from rig import procs


def test_a_port_is_below_the_ephemeral_range_free_and_reserved_for_this_process():
    port = procs.free_port()
    assert procs.PORT_FLOOR <= port < procs._ephemeral_floor()  # pylint: disable=protected-access
    assert not procs.port_in_use(port)
    with open(os.path.join(procs.PORT_RESERVATIONS, str(port)), encoding="ascii") as f:
        assert f.read() == str(os.getpid())
    assert procs.free_port() != port


def test_a_port_another_live_process_reserved_is_not_handed_out_and_a_dead_ones_is(monkeypatch):
    dead, live = procs.free_port(), procs.free_port()
    with open(os.path.join(procs.PORT_RESERVATIONS, str(dead)), "w", encoding="ascii") as f:
        f.write(str(2 ** 22 + 1))  # as a killed run leaves it: a pid no process has (pid_max is at most 2**22)
    with open(os.path.join(procs.PORT_RESERVATIONS, str(live)), "w", encoding="ascii") as f:
        f.write(str(os.getppid()))  # held by a live process that is not this one
    picks = iter([live, live, dead])
    monkeypatch.setattr(procs.random, "randrange", lambda lo, hi: next(picks))
    assert procs.free_port() == dead
    with open(os.path.join(procs.PORT_RESERVATIONS, str(dead)), encoding="ascii") as f:
        assert f.read() == str(os.getpid())
