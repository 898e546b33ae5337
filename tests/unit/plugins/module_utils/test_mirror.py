"""The image RPO's pure parts: ages, per-level RPOs and the failover preflight's refusal."""
from __future__ import annotations

import datetime

import pytest

from ansible_collections.predictive.mirroring.plugins.module_utils.constants import ATTR_PRIMARY, ATTR_SYNCED_AT
from ansible_collections.predictive.mirroring.plugins.module_utils import mirror
from ansible_collections.predictive.mirroring.plugins.module_utils.errors import MirroringError
from ansible_collections.predictive.mirroring.plugins.module_utils.failover import stale_image

NOW = datetime.datetime(2026, 12, 4, 12, 0, tzinfo=datetime.timezone.utc)


def vm(synced=None, name="db01-mirror"):
    return {"name": name, "attributes": {} if synced is None else {ATTR_SYNCED_AT: synced}}


def test_image_age_reads_the_synced_at_attribute_in_any_zone():
    assert mirror.image_age(vm("2026-12-04T10:00:00+00:00"), NOW) == 7200.0
    assert mirror.image_age(vm("2026-12-04T11:00:00+01:00"), NOW) == 7200.0
    assert mirror.image_age(vm("2026-12-04T11:30:00"), NOW) == 1800.0  # no zone: UTC, as the collection writes it
    assert mirror.image_age(vm("2026-12-04T12:04:00Z"), NOW) == 0.0  # a clock a little ahead is no negative age
    # issue 33: a synced_at further ahead (a wrong clock, a hand edit) is an unknown age, never a fresh image
    assert mirror.image_age(vm("2026-12-04T13:00:00Z"), NOW) is None
    assert mirror.image_age(vm(), NOW) is None
    assert mirror.image_age(vm("yesterday; rm -rf /"), NOW) is None


def test_image_rpos_fill_defaults_and_refuse_what_makes_no_sense():
    assert mirror.image_rpos(None) == {"partial": 86400, "full": 86400}
    assert mirror.image_rpos({"full": "3600"}) == {"partial": 86400, "full": 3600}
    for bad, words in (({"minimal": 3600}, "no level 'minimal'"), ({"partial": 59}, "at least 60"),
                       ({"full": "soon"}, "whole number"), ({"Partial": 3600}, "no level")):
        with pytest.raises(MirroringError, match=words):
            mirror.image_rpos(bad)


def test_the_preflight_refuses_a_stale_or_unknown_image_with_its_age():
    primary = {"name": "db01"}
    assert stale_image(primary, vm("2026-12-04T08:00:00+00:00"), 14400, NOW) is None  # exactly at the RPO: held
    why = stale_image(primary, vm("2026-12-04T07:59:00+00:00"), 14400, NOW)
    assert "db01-mirror is 14460 s old (synced at 2026-12-04T07:59:00+00:00), older than its RPO of 14400 s" in why
    assert "Nothing was changed" in why
    assert "of unknown age" in stale_image(primary, vm(), 14400, NOW)
    assert "lies in the future" in stale_image(primary, vm("2027-01-01T00:00:00Z"), 14400, NOW)


def test_refresh_copies_are_not_mirrors_to_serve_from():
    rows = [{"name": n, "moid": m, "attributes": {ATTR_PRIMARY: "u1", mirror.ATTR_ROLE: r}}
            for n, m, r in (("a-mirror", "vm-1", "standby"), ("a-mirror.refresh", "vm-2", "refreshing"),
                            ("a-mirror-old", "vm-3", "retired"))]
    assert [m["moid"] for m in mirror.mirrors_by_primary(rows)["u1"]] == ["vm-1"]
    assert [m["moid"] for m in mirror.mirrors_by_primary(rows, refreshing=True)["u1"]] == ["vm-2", "vm-3"]
