"""Every module start pays its imports: a failover runs a dozen modules, and scikit-learn alone took about a second
of each (a predictive failover switched 16.5 s into its run with it, 11.6 s without). Only the modules that load,
score or train a model import it, and only when they do."""
from __future__ import annotations

import subprocess
import sys

import pytest

NO_MODEL = ["vm_failover", "vm_drill", "host_evacuate", "lb_pool", "pg_replication", "vcenter_lease", "notify_webhook",
            "history_info", "fps_history", "failover_plan", "vm_mirror", "run_metrics", "failover_analysis", "dns_record"]


@pytest.mark.parametrize("name", NO_MODEL)
def test_a_module_that_does_not_score_does_not_import_scikit_learn(name):
    code = ("import sys; import ansible_collections.predictive.mirroring.plugins.modules.%s; "
            "print(sorted(m for m in ('sklearn', 'joblib', 'scipy.stats') if m in sys.modules))" % name)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60).stdout
    assert out.strip() == "[]"
