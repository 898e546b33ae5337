"""The report's recovery-point figures, from the rows report_rows makes of inventory host variables."""
from __future__ import annotations

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
