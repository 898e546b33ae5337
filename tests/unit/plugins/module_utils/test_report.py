"""The report's recovery-point figures, from the rows report_rows makes of inventory host variables."""
from __future__ import annotations

import re

from ansible_collections.predictive.mirroring.plugins.module_utils import report


def test_recovery_points_hold_each_image_and_data_provider_against_its_own_rpo():
    rows = report.report_rows([
        {"vm_name": "db01", "fps": 80.0, "mirroring_level": "full", "mirroring_level_current": "full",
         "mirror_age_seconds": 3600.0, "data_lag_seconds": {"postgresql": 2.0, "files": 900.0},
         "data_rpo_seconds": {"postgresql": 60.0, "files": 300.0}},
        {"vm_name": "web01", "fps": 50.0, "mirroring_level": "partial", "mirroring_level_current": "partial",
         "mirror_age_seconds": None, "mirroring_vm_image_rpo_seconds": 1800},
        {"vm_name": "batch07", "fps": 2.0, "mirroring_level": "minimal", "mirror_age_seconds": None},
    ])
    points = dict(report.rpo_points(rows))
    # shares of the RPO in twentieths, rounded up
    assert points == {"db01 image": 0.05, "db01 files": 3.0, "db01 postgresql": 0.05,
                      "web01 image": None}  # a minimal VM has no mirror to hold
    assert report.rpo_summary(report.rpo_points(rows)) == "2 of 4 recovery points held (1 unknown)"
    # exactly the RPO is held; a second past it is not
    assert report.rpo_points([dict(rows[0], data={"files": (300.0, 300.0)})])[1:] == [("db01 files", 1.0)]
    assert report.rpo_points([dict(rows[0], data={"files": (301.0, 300.0)})])[1:] == [("db01 files", 1.05)]
    assert report.rpo_points([dict(rows[0], data={"files": (0.0, 300.0)})])[1:] == [("db01 files", 0.05)]
    assert report.plot_rpo(report.rpo_points(rows))[:8] == b"\x89PNG\r\n\x1a\n"
    assert report.plot_rpo([])[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_plot_is_drawn_again_only_when_its_inputs_changed(monkeypatch):
    """The page's plots are kept from the files already written when their inputs are the same (and the page holds
    those very bytes); what changed is drawn anew, and the result is what a fresh build gives."""
    rows = report.report_rows([{"vm_name": "db01", "fps": 80.0, "mirroring_level": "full"},
                               {"vm_name": "web01", "fps": 10.0, "mirroring_level": "minimal"}])
    bands = {"partial_above": 30.0, "full_above": 70.0, "failover_threshold": 85.0}
    args = (rows, {"cost_month": 10.0}, [], [], {"metrics": {}}, bands)
    first = report.build(*args)
    assert set(first) == set(report.FILES)
    drawn = []
    for name in ("plot_fps", "plot_levels", "plot_levels_over_time", "plot_cost_risk", "plot_reliability", "plot_rpo"):
        real = getattr(report, name)

        def spy(*a, real=real, name=name):
            drawn.append(name)
            return real(*a)
        spy.__name__ = real.__name__
        monkeypatch.setattr(report, name, spy)
    assert report.build(*args, previous=first) == first and drawn == []
    changed = (report.report_rows([{"vm_name": "db01", "fps": 90.0, "mirroring_level": "full"},
                                   {"vm_name": "web01", "fps": 10.0, "mirroring_level": "minimal"}]),) + args[1:]
    again = report.build(*changed, previous=first)
    assert drawn == ["plot_fps"]  # only the FPS histogram saw the new FPS
    assert again == report.build(*changed)
    # other inputs that draw the same picture (an FPS moving within its 5-point bin): drawn, and the figure keeps
    # the digest the page has (only the table's FPS changes)
    drawn.clear()
    same_bin = (report.report_rows([{"vm_name": "db01", "fps": 81.0, "mirroring_level": "full"},
                                    {"vm_name": "web01", "fps": 10.0, "mirroring_level": "minimal"}]),) + args[1:]
    out = report.build(*same_bin, previous=first)
    assert drawn == ["plot_fps"] and all(out[n] == first[n] for n in report.FILES if n.endswith(".png"))
    figure = re.compile(rb'<figure><img id="fps_distribution" data-inputs="[0-9a-f]+"')
    assert figure.search(out["index.html"]).group(0) == figure.search(first["index.html"]).group(0)
    # a PNG changed on disk behind the page's back is drawn again
    drawn.clear()
    assert report.build(*args, previous=dict(first, **{"levels.png": b"\x89PNG tampered"})) == first
    assert drawn == ["plot_levels"]


def test_the_page_does_not_depend_on_the_order_the_vms_come_in():
    """The playbook hands the VMs over in the order of a set (Ansible's difference filter), which changes with each
    process's string hashing; VMs tied on FPS (twelve at 0.6 here, more than the riskiest table shows) must not move."""
    rows = report.report_rows([{"vm_name": "vm%02d" % i, "fps": 0.6, "mirroring_level": "minimal"} for i in range(12)])
    args = ({"cost_month": 10.0}, [], [], {"metrics": {}},
            {"partial_above": 30.0, "full_above": 70.0, "failover_threshold": 85.0})
    page = report.build(rows, *args)["index.html"]
    assert report.build(rows[::-1], *args)["index.html"] == page
    assert b"<td>vm09</td>" in page and b"<td>vm10</td>" not in page


def test_a_failover_that_followed_its_application_says_so_instead_of_pending():
    assert report.label_text({"outcome": None, "label_evidence": None}) == "pending"
    assert report.label_text({"outcome": "confirmed", "label_evidence": {"powered_off_by_failover": False}}) == "confirmed"
    assert report.label_text({"outcome": None, "label_evidence": {"follows": "db01"}}) == "with db01"
