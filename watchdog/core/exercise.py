"""Drills are incidents flagged as exercises. Their incident's target is ``drill:ID`` (the drill's
number) and its check ``exercise``: no configured target can have that id (ids may not contain
a colon), so every figure can tell a drill from a real problem by its target alone, and leave
it out of availability and response-promise figures."""

from __future__ import annotations

DRILL_PREFIX = "drill:"
DRILL_CHECK = "exercise"
# The municipal guidance: "Did your drill result in two measurable changes to your continuity
# process?"
CHANGES_ASKED = 2


def drill_target(drill_id: int) -> str:
    """The incident target of drill ``drill_id``."""
    return f"{DRILL_PREFIX}{drill_id}"


def is_drill(target: str | None) -> bool:
    """Is this the target of a drill (an exercise, not a real problem)?"""
    return bool(target) and str(target).startswith(DRILL_PREFIX)


def drill_id_of(target: str | None) -> int | None:
    """The drill number in a drill target, else None."""
    if not is_drill(target):
        return None
    number = str(target)[len(DRILL_PREFIX):]
    return int(number) if number.isdigit() else None
