"""The checks dns_record makes before anything is sent, and the TTL by level: no server needed."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.dns import (
    check_name, check_values, ttl_for_level)
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import DnsError, TrafficError


def test_names_relative_or_absolute_inside_the_zone():
    assert check_name("www", "app.example")[0].to_text() == "www.app.example."
    assert check_name("WWW.App.Example.", "app.example.")[0].to_text() == "WWW.App.Example."
    for bad in ("www.other.example.", "app.example.", "a..b", "-x", "x" * 64, "www\n", "", "ex ample"):
        with pytest.raises(DnsError):
            check_name(bad, "app.example")


@pytest.mark.parametrize("rtype, values, want", [
    ("A", ["10.0.0.2", "10.0.0.1", "10.0.0.2"], ["10.0.0.1", "10.0.0.2"]),
    ("AAAA", ["2001:DB8::1"], ["2001:db8::1"]),
    ("CNAME", ["Mirror.App.Example."], ["mirror.app.example."]),
])
def test_values_are_canonical_and_sorted(rtype, values, want):
    assert check_values(rtype, values) == want


@pytest.mark.parametrize("rtype, values", [("A", ["10.0.0.256"]), ("A", ["::1"]), ("AAAA", ["10.0.0.1"]),
                                           ("CNAME", ["relative"]), ("CNAME", ["a.example.", "b.example."]),
                                           ("A", []), ("MX", ["10 mail.example."])])
def test_bad_values_are_refused(rtype, values):
    with pytest.raises(DnsError):
        check_values(rtype, values)


def test_the_ttl_falls_as_the_level_rises_and_a_table_is_checked():
    assert [ttl_for_level(level) for level in ("minimal", "partial", "full")] == [3600, 300, 30]
    assert ttl_for_level("full", {"full": 10}) == 10 and ttl_for_level("minimal", {"full": 10}) == 3600
    for level, table in (("full", {"ful": 10}), ("full", {"full": 0}), ("full", {"full": "30"}), ("max", {})):
        with pytest.raises(DnsError):
            ttl_for_level(level, table)
    assert issubclass(DnsError, TrafficError)  # DNS is a traffic provider, as HAProxy is
