"""The replication's desired state without PostgreSQL: the primary's synchronous settings and its slots for a mode
(the real clusters are in tests/integration/test_replication.py)."""
from __future__ import annotations

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import ReplicationError
from ansible_collections.predictive.mirroring.plugins.module_utils.replication.postgres import (
    check_identifier, desired_slots, desired_sync, sync_names_for)

OURS = 'FIRST 1 ("web01_mirror")'


def test_sync_makes_our_standby_the_synchronous_one():
    before = {"synchronous_standby_names": "", "synchronous_commit": "on"}
    assert desired_sync(before, "sync", "web01_mirror", "remote_apply") == {
        "synchronous_standby_names": OURS, "synchronous_commit": "remote_apply"}


@pytest.mark.parametrize("names, want", [
    (OURS, ""),                                 # ours: removed
    ('FIRST 1 ("other")', 'FIRST 1 ("other")'),  # another standby's: left alone
    ("", ""),
])
def test_async_removes_only_our_standby_from_the_synchronous_set(names, want):
    before = {"synchronous_standby_names": names, "synchronous_commit": "remote_apply"}
    assert desired_sync(before, "async", "web01_mirror") == {"synchronous_standby_names": want,
                                                             "synchronous_commit": "remote_apply"}


def test_the_same_mode_twice_wants_what_is_there():
    once = desired_sync({"synchronous_standby_names": "", "synchronous_commit": "on"}, "sync", "web01_mirror")
    assert desired_sync(once, "sync", "web01_mirror") == once


def test_slots_are_added_and_dropped_and_a_slot_in_use_is_named():
    assert desired_slots({"a": False}, slot="web01_mirror") == (["a", "web01_mirror"], [])
    assert desired_slots({"a": False, "b": True}, drop=["a", "b", "gone"]) == ([], ["b"])
    assert desired_slots({"web01_mirror": True}, slot="web01_mirror") == (["web01_mirror"], [])


@pytest.mark.parametrize("bad", ['x"); DROP TABLE t; --', "web 01", "web-01", "", "a" * 64, "web01\n", None])
def test_a_name_that_reaches_sql_is_refused_unless_a_plain_identifier(bad):
    with pytest.raises(ReplicationError, match="is refused"):
        check_identifier("application_name", bad)
    if isinstance(bad, str):
        with pytest.raises(ReplicationError):
            sync_names_for(bad)
