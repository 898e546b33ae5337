"""Test-only callback: write every task result of a run to $RECORD_RESULTS as JSON."""
from __future__ import annotations

import json
import os
import time

from ansible.plugins.callback import CallbackBase

DOCUMENTATION = """
name: record_results
type: aggregate
short_description: Record task results to a JSON file for the tests
description: Writes the task results and the stats, as JSON, to the file named by the RECORD_RESULTS environment variable.
"""


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "record_results"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self):
        super().__init__()
        self.tasks = {}
        self.seconds = {}
        self.ended = {}  # task name: seconds from the playbook's start to the task's end
        self.ended_at = {}  # task name: when it ended, on the machine's monotonic clock (comparable across processes)
        self.started = None
        self.t0 = time.monotonic()

    def v2_playbook_on_task_start(self, task, is_conditional):
        self.started = (task.get_name(), time.monotonic())

    # v2_runner_on_failed passes ignore_errors too
    def _record(self, result, ignore_errors=False):  # pylint: disable=unused-argument
        self.tasks.setdefault(result.task_name, {})[result._host.get_name()] = result._result  # pylint: disable=protected-access
        if self.started:
            name, t0 = self.started
            self.seconds[name] = round(time.monotonic() - t0, 1)
            self.ended[name] = round(time.monotonic() - self.t0, 2)
            self.ended_at[name] = time.monotonic()

    v2_runner_on_ok = v2_runner_on_failed = v2_runner_on_skipped = _record

    def v2_playbook_on_stats(self, stats):
        hosts = sorted(stats.processed.keys())
        out = {"tasks": self.tasks, "stats": {h: stats.summarize(h) for h in hosts}, "seconds": self.seconds, "ended": self.ended,
               "ended_at": self.ended_at}
        with open(os.environ["RECORD_RESULTS"], "w", encoding="utf-8") as f:
            json.dump(out, f, default=str)
