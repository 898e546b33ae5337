"""The rig's ports: outside the kernel's ephemeral range and reserved across processes (two test commands at once)."""
from __future__ import annotations

import fcntl
import os

from rig import procs


def test_a_port_is_below_the_ephemeral_range_free_and_reserved_for_this_process():
    port = procs.free_port()
    assert procs.PORT_FLOOR <= port < procs._ephemeral_floor()  # pylint: disable=protected-access
    assert not procs.port_in_use(port)
    with open(os.path.join(procs.PORT_RESERVATIONS, str(port)), encoding="ascii") as f:
        try:  # another open of the file (as another process would) cannot take the lock
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            raise AssertionError("the reservation is not locked")
        except BlockingIOError:
            pass
    assert procs.free_port() != port


def test_a_port_someone_holds_is_not_handed_out_and_one_whose_holder_ended_is(monkeypatch):
    held, left = procs.free_port(), procs.free_port()
    path = os.path.join(procs.PORT_RESERVATIONS, str(left))
    os.close(procs._held.pop(path))  # pylint: disable=protected-access  # its holder ends without a word (SIGKILL)
    assert os.path.exists(path)
    picks = iter([held, held, left])
    monkeypatch.setattr(procs.random, "randrange", lambda lo, hi: next(picks))
    assert procs.free_port() == left
