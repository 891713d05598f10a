"""Small SQL building blocks shared by repositories."""

from __future__ import annotations

LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE/ILIKE substring pattern in which the user's % and _ are taken literally.

    Use with ``escape=LIKE_ESCAPE``.
    """
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"
