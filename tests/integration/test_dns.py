"""dns_record against a real BIND 9 (Debian's named) on loopback: RFC 2136 updates signed with TSIG, the TTL by level,
check mode and diff, bad input refused before anything is sent, a server that never answers, no secret printed.
What the server serves is read back with a plain, unsigned query, as a client would."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
import time

import pytest

from rig.bind import Bind

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


@pytest.fixture(scope="module")
def bind(tmp_path_factory):
    server = Bind(workdir=str(tmp_path_factory.mktemp("bind"))).start()
    try:
        yield server
    finally:
        server.remove()


def module(bind, *flags, **args):
    """ansible localhost -m dns_record at -vvv: (ok, result, whole output)."""
    params = dict(server="127.0.0.1", port=bind.port, zone="app.example", key_name=bind.key_name,
                  key_secret=bind.key_secret, timeout=3)
    params.update(args)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), PATH=BIN + os.pathsep + os.environ["PATH"])
    proc = subprocess.run([os.path.join(BIN, "ansible"), "localhost", "-i", "localhost,", "-c", "local", "-vvv", "-o",
                           "-e", "ansible_python_interpreter=" + sys.executable, "-m", "predictive.mirroring.dns_record",
                           "-a", json.dumps(params)] + list(flags),
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False)
    out = proc.stdout + proc.stderr
    line = next(line for line in proc.stdout.splitlines() if line.startswith("localhost | "))
    return "FAILED" not in line.split("=>")[0], json.loads(line.split("=> ", 1)[1]), out


def test_the_record_follows_the_level_and_moves_to_the_mirror(bind):
    name = "www.app.example."
    ok, r, out = module(bind, name="www", values=["10.1.0.11"], level="minimal")
    assert ok and r["changed"] and r["record"] == {"values": ["10.1.0.11"], "ttl": 3600}, out[-2000:]
    assert bind.served(name) == (["10.1.0.11"], 3600)
    ok, r, out = module(bind, name="www", values=["10.1.0.11"], level="minimal")
    assert ok and not r["changed"]
    # the risk rises: the TTL falls, so the failover's address change reaches clients within the level's TTL
    ok, r, out = module(bind, "--diff", name="www", values=["10.1.0.11"], level="partial")
    assert ok and r["changed"] and bind.served(name) == (["10.1.0.11"], 300)
    ok, r, out = module(bind, name="www", values=["10.1.0.11"], level="full", ttl_by_level={"full": 20})
    assert ok and r["changed"] and bind.served(name) == (["10.1.0.11"], 20)
    # check mode: says what would change, changes nothing; the diff names both sides
    ok, r, out = module(bind, "--check", "--diff", name="www", values=["10.2.0.11"], level="full",
                        ttl_by_level={"full": 20})
    assert ok and r["changed"] and r["diff"] == {"before": {"values": ["10.1.0.11"], "ttl": 20},
                                                 "after": {"values": ["10.2.0.11"], "ttl": 20}}
    assert bind.served(name) == (["10.1.0.11"], 20)
    # the failover's traffic step: the name moves to the mirror's address
    ok, r, out = module(bind, name=name, values=["10.2.0.11"], level="full", ttl_by_level={"full": 20})
    assert ok and r["changed"] and r["before"]["values"] == ["10.1.0.11"] and bind.served(name) == (["10.2.0.11"], 20)
    ok, r, out = module(bind, name="www", state="absent")
    assert ok and r["changed"] and bind.served(name) == ([], None)
    ok, r, out = module(bind, name="www", state="absent")
    assert ok and not r["changed"]
    assert bind.key_secret not in out


@pytest.mark.parametrize("args, words", [
    ({"name": "www;rm -rf /", "values": ["10.1.0.11"]}, "is not a DNS name"),
    ({"name": "w w", "values": ["10.1.0.11"]}, "is not a DNS name"),
    ({"name": "www.other.example.", "values": ["10.1.0.11"]}, "is not inside zone app.example."),
    ({"name": "api", "values": ["10.1.0.300"]}, "is not an IPv4 address"),
    ({"name": "api", "values": ["10.1.0.11"], "ttl": 0}, "ttl must be a whole number of seconds within 1..604800"),
    ({"name": "api", "values": ["10.1.0.11"], "level": "partial", "ttl_by_level": {"partal": 60}},
     "ttl_by_level has unknown levels partal"),
    ({"name": "api", "values": ["10.1.0.11"], "key_secret": "bm90IHRoZSBrZXk="}, "refused the TSIG signature"),
    ({"name": "api", "values": ["10.1.0.11"], "key_name": "stranger"}, "refused the TSIG signature"),
    ({"name": "api", "values": ["10.1.0.11"], "server": "dns.example.com"}, "must be the IP address"),
])
def test_bad_input_is_refused_with_one_clear_error_and_changes_nothing(bind, args, words):
    ok, r, out = module(bind, **args)
    assert not ok and words in r["msg"], r
    assert not r["changed"]
    assert bind.served("api.app.example.") == ([], None)
    assert bind.key_secret not in out


def test_a_server_that_never_answers_is_given_up_on_at_the_timeout(bind):
    """A listener that accepts and never answers (a firewall that swallows, a hung server): the module gives up at
    its 3 s timeout with one clear error."""
    silent = socket.create_server(("127.0.0.1", 0))
    held = []
    threading.Thread(target=lambda: held.append(silent.accept()), daemon=True).start()
    try:
        started = time.monotonic()
        ok, r, _out = module(bind, name="www", values=["10.1.0.11"], port=silent.getsockname()[1])
        took = time.monotonic() - started
    finally:
        silent.close()
    assert not ok and "gave no complete answer to read www.app.example. A within 3 s (timeout)" in r["msg"]
    assert took < 3 + 6, took  # the module's 3 s, plus ansible's own start
