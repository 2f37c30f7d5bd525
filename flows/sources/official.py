"""Read an official recap (D.HASIL) as transcribed spreadsheets have it.

Wide: one row per kab/kota (or kecamatan), one column per candidate by ballot number, often
with the pair's names beside the number (`isran_hadi_01`), and a total row. The total row is
recognised by its code (the region containing every other row: 64 above 6401..6474), or by a
JUMLAH/TOTAL name in a row without a code. Whether it equals the sum of the rows is checked by
the models (int_official_total_checks) and reported, not silently trusted or dropped.

    read_official(Path("dhasil.csv")) -> CountTable, or raises CountFileError
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from flows.sources.counts import ColumnConfig, CountFileError, CountTable, mark_total_row, read_count_file

FIELDS = ("code", "name", "suara_sah", "suara_tidak_sah", "dpt", "submitted_at", "source_note")


def read_official(path: Path, config: ColumnConfig | None = None) -> CountTable:
    path = Path(path).resolve()
    table = mark_total_row(path, read_count_file(path, "official", config or ColumnConfig.load(), FIELDS, long_form_ok=False))
    below = table.rows.filter(~pl.col("is_total"))
    if below["level"].n_unique() > 1:
        levels = ", ".join(sorted(set(below["level"].drop_nulls())))
        raise CountFileError(path, "mixed_levels", f"a recap lists one level of regions under its total row; this one mixes {levels}")
    return table


def total_mismatches(table: CountTable) -> list[tuple[int, int, int]]:
    """(ballot number, total row, sum of the rows) for every candidate where they differ."""
    total = table.rows.filter(pl.col("is_total"))["row_number"]
    if total.is_empty():
        return []
    votes = table.votes.with_columns(pl.col("row_number").is_in(total.implode()).alias("is_total"))
    sums = votes.group_by("nomor_urut").agg(
        pl.col("votes").filter(pl.col("is_total")).sum().alias("total"),
        pl.col("votes").filter(~pl.col("is_total")).sum().alias("rows"),
    )
    return [tuple(r) for r in sums.filter(pl.col("total") != pl.col("rows")).sort("nomor_urut").iter_rows()]
