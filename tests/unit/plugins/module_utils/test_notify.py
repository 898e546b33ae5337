from __future__ import annotations

import http.server
import json
import socket
import threading
import time

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils import notify
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError

TOKEN = "T0000/B0000/secret-token-in-the-path"


class Receiver(http.server.ThreadingHTTPServer):
    """Answers each POST with the next status of `answers` (the last one repeats) and keeps the bodies."""

    def __init__(self, answers):
        self.answers, self.bodies = list(answers), []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                server = self.server
                server.bodies.append(json.loads(body))
                status = server.answers.pop(0) if len(server.answers) > 1 else server.answers[0]
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass
        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return "http://127.0.0.1:%d/services/%s" % (self.server_address[1], TOKEN)


def test_retries_until_the_receiver_takes_it():
    r = Receiver([503, 500, 200])
    try:
        out = notify.send(r.url, notify.payload("json", "failover", "db01 failed over", {"vm": "db01"}), timeout=10,
                          retries=3, backoff=0.1)
    finally:
        r.shutdown()
    assert out["delivered"] and out["attempts"] == 3 and out["status"] == 200 and out["error"] is None
    assert len(r.bodies) == 3 and r.bodies[0]["event"] == "failover" and r.bodies[0]["details"] == {"vm": "db01"}


def test_a_wrong_url_is_not_retried_and_never_printed():
    r = Receiver([404])
    try:
        out = notify.send(r.url, {"text": "x"}, timeout=5, retries=3, backoff=0.1)
    finally:
        r.shutdown()
    assert not out["delivered"] and out["attempts"] == 1 and out["error"] == "127.0.0.1 answered HTTP 404"
    out = notify.send("http://127.0.0.1:1/services/" + TOKEN, {"text": "x"}, timeout=2, retries=1, backoff=0.1)
    assert not out["delivered"] and out["attempts"] == 2 and "ConnectionError" in out["error"]
    assert TOKEN not in json.dumps(out)


def test_a_receiver_that_never_answers_costs_the_timeout_and_no_more():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # accepts connections, never answers
    try:
        started = time.monotonic()
        out = notify.send("http://127.0.0.1:%d/hook" % silent.getsockname()[1], {"text": "x"}, timeout=1.5, retries=5,
                          backoff=0.2)
        took = time.monotonic() - started
    finally:
        silent.close()
    assert not out["delivered"] and "did not answer" in out["error"]
    assert 1.4 <= took <= 2.0, took


def _drip(server, stop):
    """Answers every connection with an HTTP response, one byte every 0.5 s."""
    while not stop.is_set():
        try:
            conn, _addr = server.accept()
        except OSError:
            return

        def feed(c):
            try:
                for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok":
                    if stop.is_set():
                        break
                    c.sendall(bytes([byte]))
                    time.sleep(0.5)
            except OSError:
                pass
            finally:
                c.close()
        threading.Thread(target=feed, args=(conn,), daemon=True).start()


def test_a_receiver_that_drips_its_answer_costs_the_timeout_and_no_more():
    # issue 33: each byte came within the read timeout, so a 3 s timeout held the call for over 25 s
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    stop = threading.Event()
    threading.Thread(target=_drip, args=(server, stop), daemon=True).start()
    try:
        from ansible_collections.predictive.mirroring.plugins.module_utils.task import Task  # pylint: disable=import-outside-toplevel
        started = time.monotonic()
        task = Task()
        out = notify.webhook({"url": "http://127.0.0.1:%d/hook" % server.getsockname()[1], "timeout": 3.0, "retries": 3,
                              "backoff": 0.2, "format": "json", "event": "failover", "summary": "db01 failed over",
                              "details": {}, "validate_certs": True, "ca_path": None}, task)
        took = time.monotonic() - started
    finally:
        stop.set()
        server.close()
    assert not out["delivered"] and "did not answer" in out["error"], out
    assert took <= 4.0, took
    assert task.warnings and "not delivered" in task.warnings[0]


@pytest.mark.parametrize("fmt", notify.FORMATS)
def test_payloads_have_each_services_shape(fmt):
    body = notify.payload(fmt, "refusal", "db01: failover refused", {"vm": "db01", "fps": 91.5}, at="2026-11-28T00:00:00+00:00")
    if fmt == "slack":
        assert body["text"] == "db01: failover refused" and body["blocks"][0]["type"] == "section"
        assert body["blocks"][1]["fields"][0]["text"] == "*fps*\n91.5"
    elif fmt == "teams":
        card = body["attachments"][0]
        assert body["type"] == "message" and card["contentType"] == "application/vnd.microsoft.card.adaptive"
        assert card["content"]["body"][1]["facts"] == [{"title": "fps", "value": "91.5"}, {"title": "vm", "value": "db01"}]
    else:
        assert body == {"source": "predictive.mirroring", "event": "refusal", "summary": "db01: failover refused",
                        "details": {"fps": 91.5, "vm": "db01"}, "at": "2026-11-28T00:00:00+00:00"}
    with pytest.raises(MirroringError, match="format must be one of"):
        notify.payload("xml", "refusal", "s")
