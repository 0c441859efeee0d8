"""Keyboard shortcuts: one list per action without empties or repeats, and a table of all.

Qt treats a key sequence bound twice in one window as *ambiguous* and runs neither binding
(``StandardKey.Quit`` is already Ctrl+Q on Linux, so adding "Ctrl+Q" again silenced it), and a
menu shows only an action's first shortcut (``StandardKey.Preferences`` is empty on Linux, which
hid Ctrl+,). :func:`unique_sequences` prevents both; :func:`shortcut_conflicts` finds a sequence
bound to two actions.
"""

from __future__ import annotations

from collections.abc import Iterable

from PySide6.QtGui import QAction, QKeySequence

Format = QKeySequence.SequenceFormat


def unique_sequences(
    shortcuts: Iterable[QKeySequence | QKeySequence.StandardKey | str],
) -> list[QKeySequence]:
    """The given shortcuts as key sequences, in order, without empty ones and repeats."""
    seen: set[str] = set()
    result: list[QKeySequence] = []
    for item in shortcuts:
        seqs = (
            QKeySequence.keyBindings(item)
            if isinstance(item, QKeySequence.StandardKey)
            else [QKeySequence(item)]
        )
        for seq in seqs:
            key = seq.toString(Format.PortableText)
            if key and key not in seen:
                seen.add(key)
                result.append(seq)
    return result


def _label(action: QAction) -> str:
    return action.text().replace("&&", "\0").replace("&", "").replace("\0", "&").rstrip("…")


def shortcut_conflicts(actions: Iterable[QAction]) -> dict[str, list[str]]:
    """Key sequences bound more than once (across actions or within one), with the actions."""
    owners: dict[str, list[str]] = {}
    for action in dict.fromkeys(actions):  # the same action may be reached twice
        for seq in action.shortcuts():
            key = seq.toString(Format.PortableText)
            if key:
                owners.setdefault(key, []).append(_label(action))
    return {key: names for key, names in owners.items() if len(names) > 1}


def shortcut_table(actions: Iterable[QAction]) -> list[tuple[str, str]]:
    """(action, its shortcuts as the user's platform writes them) for every bound action."""
    rows: list[tuple[str, str]] = []
    for action in dict.fromkeys(actions):
        keys = [s.toString(Format.NativeText) for s in action.shortcuts() if not s.isEmpty()]
        if keys:
            rows.append((_label(action), ", ".join(keys)))
    return sorted(rows, key=lambda row: row[0].lower())
