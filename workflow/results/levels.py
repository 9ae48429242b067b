"""The classification levels, the same four for collectives and members, plus the two states
a member can be in without a level (README, "Results")."""

from __future__ import annotations

HTXS = "HTXS"
HTT = "HTT"
HT = "HT"
KHT = "KHT"
NOT_CLASSIFIED = "NOT_CLASSIFIED"
PENDING = "PENDING"

#: The four levels a rating can give, best first.
RATED: tuple[str, ...] = (HTXS, HTT, HT, KHT)
#: Every value a member's or a collective's `level` may hold.
ALL: tuple[str, ...] = (*RATED, NOT_CLASSIFIED, PENDING)

NAME: dict[str, str] = {
    HTXS: "Hoàn thành xuất sắc nhiệm vụ",
    HTT: "Hoàn thành tốt nhiệm vụ",
    HT: "Hoàn thành nhiệm vụ",
    KHT: "Không hoàn thành nhiệm vụ",
    NOT_CLASSIFIED: "Không xếp loại",
    PENDING: "Chưa xếp loại (vắng mặt)",
}

#: Higher is better; only the four rated levels are comparable.
LEVEL_RANK: dict[str, int] = {HTXS: 4, HTT: 3, HT: 2, KHT: 1}

#: Spellings offices use in their spreadsheets, mapped to the codes.
_ALIASES: dict[str, str] = {
    "htxsnv": HTXS, "htxs": HTXS, "htt": HTT, "httnv": HTT, "ht": HT, "htnv": HT,
    "kht": KHT, "khtnv": KHT, "not_classified": NOT_CLASSIFIED, "không xếp loại": NOT_CLASSIFIED,
    "kxl": NOT_CLASSIFIED, "pending": PENDING, "chưa xếp loại": PENDING,
    **{name.lower(): code for code, name in NAME.items()},
}


def parse_level(text: object) -> str | None:
    """Return the level code a cell of a file means, None for an empty cell; raise ValueError."""
    if text is None:
        return None
    key = str(text).strip().lower()
    if not key:
        return None
    if key in _ALIASES:
        return _ALIASES[key]
    raise ValueError(text)


def step_down(level: str) -> str:
    """Return the rated level one below `level` (KHT stays KHT)."""
    return RATED[min(RATED.index(level) + 1, len(RATED) - 1)]
