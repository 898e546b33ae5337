from __future__ import annotations

import socket
import threading
import time

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.deadline import DeadlineExceeded, call_within
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import TrafficError
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic.haproxy import HAProxy


def test_a_call_past_its_deadline_is_abandoned_and_its_own_errors_come_through():
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        call_within(0.5, time.sleep, 5)
    assert time.monotonic() - started < 1.0
    assert call_within(1.0, sum, [1, 2]) == 3
    released = threading.Event()

    def stuck():
        released.wait(5)

    with pytest.raises(DeadlineExceeded) as caught:
        call_within(0.3, stuck)
    released.set()
    # what the abandoned call was doing, innermost first: waiting on the event, in stuck()
    assert caught.value.where.startswith("threading.py:") and caught.value.where.endswith(" stuck"), caught.value.where
    with pytest.raises(ZeroDivisionError):
        call_within(1.0, lambda: 1 / 0)


def test_a_runtime_api_that_drips_its_answer_is_cut_off_at_the_timeout(tmp_path):
    # issue 33: a socket timeout bounds each read; one byte every 0.3 s kept a "1.5 s" exchange going for ever
    path = str(tmp_path / "drip.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(4)
    stop = threading.Event()

    def drip():
        conn, _addr = server.accept()
        with conn:
            while not stop.is_set():
                try:
                    conn.sendall(b"x")
                except OSError:
                    return
                time.sleep(0.3)

    threading.Thread(target=drip, daemon=True).start()
    try:
        started = time.monotonic()
        with pytest.raises(TrafficError, match="Cannot reach the HAProxy runtime API"):
            HAProxy(path, timeout=1.5).command("show servers state app")
        assert time.monotonic() - started < 2.0
    finally:
        stop.set()
        server.close()
