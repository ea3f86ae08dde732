"""Shared pieces for tasks whose input is a row of named fields (breast_cancer, heart_disease, diabetes...).

`read_rows` turns a CSV or a dict into a validated float array; `parse_value` is the one place a raw
cell becomes a number. A missing value of an optional field travels as NaN: the network
(`TabularNet`, in `hub.models._tabular_net`, so reading and validating rows never imports torch)
replaces it by its stored training mean, so imputation is part of the signed weights, the same in the
API, the Spaces and federated training, and a SHAP value of an imputed field is exactly zero.
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


#: cell values that mean "not recorded" (the UCI files write '?')
MISSING_MARKS = ("", "?", "na", "n/a")


class CellError(ValueError):
    """A cell that is not a valid value of its field; the message names the rule, never other values."""


def parse_value(f: InputField, raw: Any) -> float:
    """One raw cell as the number the network reads: NaN for a missing value of an optional field.

    Raises `CellError` saying which rule the value breaks (required, a number, a category, the range).
    """
    if raw is None or (isinstance(raw, float) and math.isnan(raw) and f.optional):
        text = ""
    elif isinstance(raw, str):
        text = raw.strip()
    else:
        text = None
    if text is not None and text.lower() in MISSING_MARKS:
        if f.optional:
            return float("nan")
        raise CellError("missing value" + (" (required)" if text else ""))
    if f.choices:
        if isinstance(raw, str):
            word = _normalise(raw)
            for w, code in f.choices:
                if _normalise(w) == word:
                    return float(code)
        try:
            code = float(raw)
        except (TypeError, ValueError):
            code = float("nan")
        if any(code == c for _, c in f.choices):
            return code
        raise CellError(f"must be one of {f.range_text()}")
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise CellError(f"must be a number, got {str(raw)[:20]!r}") from None
    if not math.isfinite(value):
        raise CellError("must be a finite number")
    if value in f.missing_codes:
        return float("nan")
    if not f.minimum <= value <= f.maximum:
        side = "below" if value < f.minimum else "above"
        raise CellError(f"{value:g} is outside the valid range {f.minimum:g}..{f.maximum:g} {f.unit}".rstrip()
                        + f" ({side} it)")
    return value


def field_aliases(fields: Sequence[InputField]) -> dict[str, str]:
    """Normalised alias -> field name, from each field's `aliases`."""
    return {_normalise(a): f.name for f in fields for a in f.aliases}


def imputed_fields(fields: Sequence[InputField], row: np.ndarray) -> list[str]:
    """Names of the fields of one network-input row that were missing (NaN) and will be imputed."""
    return [f.name for f, v in zip(fields, np.asarray(row).reshape(-1)) if math.isnan(float(v))]


def read_rows(
    rows: Iterable[Mapping[str, Any]],
    fields: Sequence[InputField],
    *,
    aliases: Mapping[str, str] | None = None,
    ignore: Iterable[str] = (),
) -> np.ndarray:
    """Validate rows of named values against `fields`; return a (n, len(fields)) float32 array.

    Column names match case- and separator-insensitively, or through the fields' own `aliases` and
    `aliases` (normalised name -> field name). Unknown columns, identifier columns, missing columns
    (optional fields may be absent: imputed), non-numeric, unknown categories, missing required and
    out-of-range values each raise `InvalidInputError` naming the column (and row), never other values.
    """
    by_norm = {_normalise(f.name): f.name for f in fields}
    by_norm.update(field_aliases(fields))
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
    missing = [f.name for f in fields if f.name not in mapping.values() and not f.optional]
    if missing:
        shown = ", ".join(missing[:5]) + (f" and {len(missing) - 5} more" if len(missing) > 5 else "")
        raise InvalidInputError(f"missing column(s): {shown}")
    index = {name: i for i, name in enumerate(f.name for f in fields)}
    # an optional field absent from the input is missing in every row (imputed)
    out = np.full((len(rows), len(fields)), np.nan, dtype=np.float32)
    for r, row in enumerate(rows, start=1):
        for col, name in mapping.items():
            f = fields[index[name]]
            raw = row.get(col)
            try:
                value = parse_value(f, raw)
            except CellError as e:
                rule = str(e)
                if rule.startswith("missing value"):
                    raise InvalidInputError(f"row {r}: missing value for '{name}'") from None
                if "valid range" in rule:
                    raise InvalidInputError(f"row {r}: '{name}' = {rule}") from None
                raise InvalidInputError(f"row {r}: '{name}' {rule}") from None
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


class TabularMethods:
    """The kind-specific Task methods of every task on one row of named fields (mixed into the Task)."""

    input_fields: Sequence[InputField]

    # ----- requests ------------------------------------------------------------------------------------
    def check_file(self, path: Path, *, limits: Any = None, **options: Any) -> int | None:
        from hub import limits as lim

        return lim.check_table_file(Path(path), limits=limits or lim.DEFAULT)

    def inline_units(self, raw: Any) -> int:
        return len(raw) if isinstance(raw, list) else 1  # a list of rows is a batch

    def inline_input(self, raw: Any) -> Any:
        return raw  # rows of named values: `read_rows` validates each cell by its field

    def request_example(self, path: Path) -> tuple[dict[str, Any], Any]:
        with Path(path).open(newline="") as fh:
            row = {k: float(v) for k, v in next(csv.DictReader(fh)).items()}
        return {"inputs": row}, self.prepare(row)  # type: ignore[attr-defined]

    def feature_summary(self, x: np.ndarray) -> dict[str, Any] | None:
        if not len(x):
            return None
        return {f.name: {"min": float(np.nanmin(x[:, i])), "mean": float(np.nanmean(x[:, i])),
                         "max": float(np.nanmax(x[:, i])), "missing": int(np.isnan(x[:, i]).sum())}
                for i, f in enumerate(self.input_fields) if not np.isnan(x[:, i]).all()}

    # ----- output -------------------------------------------------------------------------------------
    def explain_case(self, network: Any, cases: Any, index: int = 0, **opts: Any) -> Any:
        from hub.explain.tabular import explain_tabular

        return explain_tabular(self, network, cases, index, **opts)  # type: ignore[arg-type]

    def describe_case(self, cases: Any, index: int = 0) -> list[tuple[str, str]]:
        row = np.asarray(cases.x[index]).reshape(-1)
        out = [("input", f"{len(row)} numeric features (one case of {len(cases)})")]
        for f, v in zip(self.input_fields, row):
            if np.isnan(v):
                out.append((f.name, "not given (imputed)"))
            elif f.word_for(float(v)) is not None:
                out.append((f.name, str(f.word_for(float(v)))))
            else:
                out.append((f.name, f"{float(v):.4g} {f.unit}".strip()))
        return out
