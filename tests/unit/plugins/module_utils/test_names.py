"""What reaches a line-based protocol is checked whole: Python's `$` also matches before a trailing newline, and a
newline ends a command on HAProxy's runtime API. Every name check refuses one (the old checks let "web01\\n" in)."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ReplicationError, TrafficError
from ansible_collections.predictive.mirroring.plugins.module_utils.replication.postgres import check_identifier
from ansible_collections.predictive.mirroring.plugins.module_utils.traffic import check_address, check_name


@pytest.mark.parametrize("value", ["web01\n", "web01;", "web 01", "", "x" * 65, "web01\r", None])
def test_a_server_or_backend_name_is_a_plain_identifier_and_nothing_more(value):
    with pytest.raises(TrafficError):
        check_name("server", value)


@pytest.mark.parametrize("value", ["web.example\n:80", "web.example:80\n", "a b:80", "[::1\n]:80", "1.2.3.4:0"])
def test_an_address_with_anything_after_it_is_refused(value):
    with pytest.raises(TrafficError):
        check_address(value)


@pytest.mark.parametrize("value", ["db01_mirror\n", "db01-mirror", "db01 mirror", ""])
def test_a_slot_or_application_name_with_a_newline_is_refused(value):
    with pytest.raises(ReplicationError):
        check_identifier("slot", value)


def test_plain_names_pass():
    check_name("server", "web01-mirror.dc1:a")
    assert check_address("web.example:8080") == "web.example:8080"
    assert check_identifier("slot", "db01_mirror") == "db01_mirror"
