"""Region codes, once in Python (their SQL twins are sql/functions/region_*.sql): a code's length
says its level, and a region's code is the first digits of every code below it; the nation is '0'."""

from __future__ import annotations

LEVEL_BY_CODE_LENGTH = {1: "nasional", 2: "provinsi", 4: "kabkota", 6: "kecamatan", 10: "kelurahan", 13: "tps"}
LEVELS = list(LEVEL_BY_CODE_LENGTH.values())  # from the nation down to the TPS
CODE_LENGTHS = tuple(length for length in LEVEL_BY_CODE_LENGTH if length > 1)  # a province's 2 digits ... a TPS's 13
NATION = "0"


def chain(code: str) -> list[str]:
    """The codes on the way down to `code`, below the nation: 6402 -> [64, 6402]."""
    return [code[:n] for n in CODE_LENGTHS if n < len(code)] + [code]


# The length of the code directly above a code of each length below the province's.
PARENT_LENGTH = dict(zip(CODE_LENGTHS[1:], CODE_LENGTHS))
KABKOTA_LENGTH = CODE_LENGTHS[1]


def parent(code: str) -> str | None:
    """The code of the region directly above `code`: the nation above a province, None above the
    nation or for a code of no level's length (as sql/functions/region_parent.sql)."""
    if len(code) == CODE_LENGTHS[0]:
        return NATION
    above = PARENT_LENGTH.get(len(code))
    return None if above is None else code[:above]
