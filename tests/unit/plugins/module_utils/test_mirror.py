"""The image RPO's pure parts (ages, per-level RPOs, the failover preflight's refusal) and the window of VMs worked on
at once (apply_window), without vCenter."""
from __future__ import annotations

import collections
import datetime
import threading
import time

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


class _Clones:
    """A stand-in for Mirrorer.apply that takes `seconds` per VM and records how many VMs, and how many per ESXi host
    and per datastore, were being worked on at once; VMs named in `fail` raise as a vCenter fault would."""

    class _Placement:
        class datastore:  # pylint: disable=invalid-name
            _moId = "datastore-1"

    def __init__(self, seconds=0.2, fail=()):
        self.placement = self._Placement()
        self.seconds, self.fail = seconds, set(fail)
        self.lock = threading.Lock()
        self.now = {"all": 0, "host": collections.Counter(), "store": 0}
        self.peak = {"all": 0, "host": 0, "store": 0}
        self.steps = []

    def apply(self, primary, actions):
        clones = any(a[0] == "clone" for a in actions)
        with self.lock:
            self.now["all"] += 1
            self.now["host"][primary["host_moid"]] += 1
            self.now["store"] += clones
            self.peak = {"all": max(self.peak["all"], self.now["all"]),
                         "host": max(self.peak["host"], *self.now["host"].values()),
                         "store": max(self.peak["store"], self.now["store"])}
        try:
            for action in actions:
                time.sleep(self.seconds / len(actions))
                with self.lock:
                    self.steps.append((primary["name"], action[0]))
            if primary["name"] in self.fail:
                raise MirroringError("Failed to clone %s: InsufficientResourcesFault" % primary["name"])
        finally:
            with self.lock:
                self.now["all"] -= 1
                self.now["host"][primary["host_moid"]] -= 1
                self.now["store"] -= clones


def jobs(n, hosts=4):
    return [({"name": "vm%02d" % i, "moid": "vm-%d" % i, "host_moid": "host-%d" % (i % hosts)},
             [("clone",), ("reconfigure",), ("power_on",)]) for i in range(n)]


def test_the_window_bounds_vms_per_host_and_per_datastore_and_keeps_each_vms_steps_in_order():
    fake = _Clones()
    renewals = []
    out = mirror.apply_window(fake, jobs(16, hosts=2), window=6, per_host=2, per_datastore=8,
                              before_each=lambda: renewals.append(1))
    assert [error for error, _seconds in out] == [None] * 16
    assert fake.peak == {"all": 4, "host": 2, "store": 4}  # two hosts, two VMs each: the host cap binds
    assert len(renewals) == 16  # the lease renewed as each VM starts
    for i in range(16):
        assert [step for name, step in fake.steps if name == "vm%02d" % i] == ["clone", "reconfigure", "power_on"]
    fake = _Clones()
    mirror.apply_window(fake, jobs(16, hosts=8), window=6, per_host=8, per_datastore=3)
    assert fake.peak["all"] == fake.peak["store"] == 3  # the mirrors' datastore binds
    fake = _Clones()
    mirror.apply_window(fake, jobs(16, hosts=8), window=3, per_host=8, per_datastore=8)
    assert fake.peak["all"] == 3  # the window binds


def test_one_vms_failure_stops_no_other_and_is_reported_in_its_place():
    fake = _Clones(fail={"vm03"})
    out = mirror.apply_window(fake, jobs(8), window=4)
    assert [error for error, _seconds in out][3] == "Failed to clone vm03: InsufficientResourcesFault"
    assert [error for i, (error, _seconds) in enumerate(out) if i != 3] == [None] * 7
    assert {name for name, step in fake.steps if step == "power_on"} == {"vm%02d" % i for i in range(8)}


@pytest.mark.parametrize("bad", [{"window": 0}, {"per_host": -1}, {"per_datastore": 1.5}, {"window": "8"}])
def test_a_window_that_makes_no_sense_is_refused(bad):
    with pytest.raises(MirroringError, match=list(bad)[0]):
        mirror.apply_window(_Clones(), jobs(2), **bad)
