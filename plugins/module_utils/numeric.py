# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""numpy, guarded once for the numeric core (telemetry, baselines, the fleet simulation, the model): a controller
without it gets one clear error from the first call that needs it, not an import failure of every module."""

from __future__ import annotations

import traceback

from ansible_collections.predictive.mirroring.plugins.module_utils.errors import require

try:
    import numpy as np  # pylint: disable=unused-import
    HAS_NUMPY = True
    NUMPY_IMPORT_ERROR = None
except ImportError:
    np = None
    HAS_NUMPY = False
    NUMPY_IMPORT_ERROR = traceback.format_exc()


def require_numpy():
    require("numpy", HAS_NUMPY, NUMPY_IMPORT_ERROR)
