"""Keeping the GUI thread responsive while render threads run Python code.

Render threads are deliberately not given a lower OS priority: they hold the GIL between
torch calls, and a low-priority thread preempted while holding it on a busy machine would
stall the GUI thread waiting for the GIL (a priority inversion).
"""

from __future__ import annotations

import gc
import sys

#: How often (seconds) the interpreter hands the GIL to another thread that waits for it;
#: Python's default is 5 ms, a visible share of a 16 ms frame when a render thread runs.
GIL_SWITCH_INTERVAL_S = 0.001


def prefer_gui_thread() -> None:
    """Hand the GIL over more often, so that a render thread running Python code delays
    the GUI thread by about a millisecond rather than five."""
    sys.setswitchinterval(min(sys.getswitchinterval(), GIL_SWITCH_INTERVAL_S))


def freeze_startup_heap() -> None:
    """Move everything allocated so far (Qt, torch, the model) out of the garbage collector's
    reach. A full collection otherwise walks a few hundred thousand startup objects, a pause
    of 100 ms or more on the GUI thread (or on whichever thread triggers it, holding the GIL).
    Call once, after the window is built."""
    gc.collect()
    gc.freeze()
