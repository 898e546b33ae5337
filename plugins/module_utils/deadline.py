# -*- coding: utf-8 -*-
# Copyright: (c) 2026, predictive.mirroring developers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A hard deadline on one outbound call, whatever the peer does.

A socket timeout bounds each read, not the call: a peer that answers one byte every half second keeps a
"3 s timeout" call going for as long as it likes. `call_within` runs the call on a daemon thread and stops waiting
at the deadline; the abandoned call ends with the process (modules are short-lived processes) or when its own
socket timeout fires. Where the project reads the socket itself, a `Deadline` gives each read only the time left.
"""

from __future__ import annotations

import os
import queue
import sys
import threading
import time


class DeadlineExceeded(Exception):
    """The call did not finish within its deadline. `where`: what the abandoned call was doing then (its innermost
    frames, "file:line function"), or None."""

    def __init__(self, message, where=None):
        super().__init__(message)
        self.where = where


def waiting_in(thread, frames=3):
    """Where `thread` is now: its innermost `frames` frames, innermost first ("ssl.py:1106 read <- ..."), or None."""
    frame = sys._current_frames().get(thread.ident)  # pylint: disable=protected-access
    out = []
    while frame is not None and len(out) < frames:
        out.append("%s:%d %s" % (os.path.basename(frame.f_code.co_filename), frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    return " <- ".join(out) or None


class Deadline:
    """A time budget for a whole exchange: left() is what remains for the next socket operation."""

    def __init__(self, seconds):
        self.seconds = float(seconds)
        self.at = time.monotonic() + self.seconds

    def left(self):
        remaining = self.at - time.monotonic()
        if remaining <= 0:
            raise DeadlineExceeded("no complete answer within %.1f s" % self.seconds)
        return remaining


def call_within(seconds, fn, *args, **kwargs):
    """fn(*args, **kwargs), or DeadlineExceeded once `seconds` have passed; fn's own exception is raised here."""
    done = queue.Queue(maxsize=1)

    def work():
        try:
            done.put((True, fn(*args, **kwargs)))
        except BaseException as e:  # pylint: disable=broad-except
            done.put((False, e))

    worker = threading.Thread(target=work, daemon=True, name="deadline")
    worker.start()
    try:
        ok, value = done.get(timeout=max(0.0, seconds))
    except queue.Empty:
        raise DeadlineExceeded("no answer within %.1f s" % seconds, waiting_in(worker)) from None
    if ok:
        return value
    raise value
