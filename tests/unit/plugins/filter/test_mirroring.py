"""The mirror_targets filter: the inventory's primaries as plan and vm_mirror entries."""
from __future__ import annotations

from ansible_collections.predictive.mirroring.plugins.filter.mirroring import mirror_targets


def hostvars(level, below_since=None, app=None):
    return {"fps": 12.0, "mirroring_level": level, "mirroring_below_since": below_since, "vm_name": "web01",
            "vm_instance_uuid": "u-1", "vcenter": "vc1", "mirroring_app": app, "depends_on": []}


def test_a_vm_the_plan_holds_above_its_own_level_is_marked_floor_and_keeps_its_app():
    hv = {"web01": hostvars("minimal", app="shop")}
    plan = [{"name": "web01", "uuid": "u-1", "vcenter": "vc1", "level": "partial"}]
    (entry,) = mirror_targets(["web01"], hv, plan)
    assert entry["level"] == "partial" and entry["floor"] is True and entry["app"] == "shop"


def test_a_vm_at_its_own_level_carries_its_hysteresis_clock_and_no_floor():
    hv = {"web01": hostvars("partial", below_since="2026-12-06T10:00:00+00:00")}
    for plan in (None, [{"name": "web01", "uuid": "u-1", "vcenter": "vc1", "level": "partial"}],
                 [{"name": "web01", "uuid": "u-1", "vcenter": "vc1", "level": "minimal"}]):  # lowered for the budget
        (entry,) = mirror_targets(["web01"], hv, plan)
        assert "floor" not in entry and entry["below_since"] == "2026-12-06T10:00:00+00:00"
