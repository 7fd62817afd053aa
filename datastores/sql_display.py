"""How rows from a database are shown: cells as text, NULLs marked, long values
shortened, and columns of numbers right-aligned."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from .storage.tables import cell_text

CELL_DISPLAY_CHARS = 300


@dataclass(frozen=True)
class Cell:
    text: str
    is_null: bool = False
    shortened: bool = False
    is_number: bool = False  # right-aligned, as numbers read best

    @property
    def css_class(self) -> str:
        return " ".join(name for name, on in (("null", self.is_null), ("number", self.is_number)) if on)


@dataclass(frozen=True)
class Grid:
    headers: list[tuple[str, bool]]  # (column name, right-aligned)
    cells: list[list[Cell]]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def number_columns(rows: Sequence[Sequence[Any]]) -> list[bool]:
    """Per column: True when every value shown is a number (NULLs aside), so it is right-aligned."""
    if not rows:
        return []
    return [
        any(value is not None for value in column) and all(value is None or _is_number(value) for value in column)
        for column in zip(*rows, strict=True)
    ]


def _cell(value: Any, is_number: bool) -> Cell:
    if value is None:
        return Cell("NULL", is_null=True, is_number=is_number)
    text = cell_text(value)
    if len(text) > CELL_DISPLAY_CHARS:
        return Cell(text[:CELL_DISPLAY_CHARS] + "…", shortened=True)
    return Cell(text, is_number=is_number)


def grid(column_names: list[str], rows: Sequence[Sequence[Any]]) -> Grid:
    numbers = number_columns(rows) or [False] * len(column_names)
    return Grid(
        headers=list(zip(column_names, numbers, strict=True)),
        cells=[[_cell(value, is_number) for value, is_number in zip(row, numbers, strict=True)] for row in rows],
    )
