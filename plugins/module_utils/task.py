# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What one module run may do and what it has done, as plain data.

The core functions a module calls take the module's params (a dict) and a Task; they return the result dict and
raise MirroringError. `changed` is what has really been changed so far, so a failure half-way still reports it
truthfully. Unit tests build a Task directly: no Ansible is needed.
"""

from __future__ import annotations


class Task:
    def __init__(self, check_mode=False, diff=False):
        self.check_mode = check_mode
        self.diff = diff
        self.changed = False
        self.warnings = []

    def warn(self, message):
        self.warnings.append(message)
