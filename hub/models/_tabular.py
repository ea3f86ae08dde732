"""Shared pieces for tasks whose input is a row of named numeric fields (breast_cancer, and e.g. heart).

`read_rows` turns a CSV or a dict into a validated float array. The network (`TabularNet`) is in
`hub.models._tabular_net`, so reading and validating rows never imports torch.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hub.errors import InvalidInputError
from hub.models.base import InputField

# column names that identify a person or a record; refused rather than silently ignored
_IDENTIFIER = re.compile(
    r"^(id|.*_id|patient.*|name|.*name|mrn|.*record.*number|ssn|.*email.*|.*phone.*|dob|date_?of_?birth|address)$",
    re.IGNORECASE,
)


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]+", " ", name.strip().lower())


def read_rows(
    rows: Iterable[Mapping[str, Any]],
    fields: Sequence[InputField],
    *,
    aliases: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> np.ndarray:
    """Validate rows of named values against `fields`; return a (n, len(fields)) float32 array.

    Column names match case- and separator-insensitively, or through `aliases` (normalised name ->
    field name). Unknown columns, identifier columns, missing columns, non-numeric, missing and
    out-of-range values each raise `InvalidInputError` naming the column (and row).
    """
    by_norm = {_normalise(f.name): f.name for f in fields}
    by_norm.update({_normalise(k): v for k, v in (aliases or {}).items()})
    skip = {_normalise(c) for c in ignore}
    rows = list(rows)
    if not rows:
        raise InvalidInputError("no rows given")
    columns = list(rows[0].keys())
    mapping: dict[str, str] = {}
    identifiers, unknown = [], []
    for col in columns:
        norm = _normalise(str(col))
        if norm in by_norm:
            mapping[col] = by_norm[norm]
        elif norm in skip:
            continue
        elif _IDENTIFIER.match(str(col).strip().replace(" ", "_")):
            identifiers.append(str(col))
        else:
            unknown.append(str(col))
    if identifiers:
        raise InvalidInputError(
            f"identifier column(s) not accepted: {', '.join(identifiers)} (remove patient identifiers first)"
        )
    if unknown:
        raise InvalidInputError(f"unexpected column(s): {', '.join(unknown)}")
    missing = [f.name for f in fields if f.name not in mapping.values()]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InvalidInputError(f"missing column(s): {shown}")
    index = {name: i for i, name in enumerate(f.name for f in fields)}
    out = np.zeros((len(rows), len(fields)), dtype=np.float32)
    for r, row in enumerate(rows, start=1):
        for col, name in mapping.items():
            f = fields[index[name]]
            raw = row.get(col)
            if raw is None or (isinstance(raw, str) and not raw.strip()):
                raise InvalidInputError(f"row {r}: missing value for '{name}'")
            try:
                value = float(raw)
            except (TypeError, ValueError):
                raise InvalidInputError(f"row {r}: '{name}' must be a number, got {str(raw)[:20]!r}") from None
            if not math.isfinite(value):
                raise InvalidInputError(f"row {r}: '{name}' must be a finite number")
            if not f.minimum <= value <= f.maximum:
                raise InvalidInputError(
                    f"row {r}: '{name}' = {value:g} is outside the valid range {f.minimum:g}..{f.maximum:g} {f.unit}".rstrip()
                )
            out[r - 1, index[name]] = value
    return out


def read_csv(path: Path | str | io.TextIOBase, fields: Sequence[InputField], **kwargs: Any) -> np.ndarray:
    """Rows of a CSV file with a header line, validated by `read_rows`."""
    if isinstance(path, (str, Path)):
        p = Path(path)
        if not p.is_file():
            raise InvalidInputError(f"file not found: {p}")
        try:
            text = p.read_text(encoding="utf-8-sig")
        except UnicodeDecodeError:
            raise InvalidInputError(f"{p.name} is not a text CSV file") from None
    else:
        text = path.read()
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(text), dialect=dialect)
    if not reader.fieldnames or len(reader.fieldnames) < 2:
        raise InvalidInputError("malformed CSV: expected a header line with one column per field")
    rows = []
    for line, row in enumerate(reader, start=2):
        if None in row or any(v is None for v in row.values()):
            raise InvalidInputError(f"malformed CSV: line {line} has a different number of columns than the header")
        rows.append(row)
    return read_rows(rows, fields, **kwargs)


def __getattr__(name: str) -> Any:
    # `from hub.models._tabular import TabularNet` keeps working, importing torch only then
    if name == "TabularNet":
        from hub.models._tabular_net import TabularNet

        return TabularNet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
