"""Error messages without the submitted values: the API and the CLI word a bad input the same way.

A task's input error may quote what it was given ("got 'JANEDOE-4711'", "= 71.2"); a patient's values must
not travel back in an error, a log line or a terminal scroll-back. `redact` drops those parts, and when
the inputs are known (the API has them), any message still containing one of them is replaced whole.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


def _scalars(value: Any, known: frozenset[str] = frozenset()) -> Iterable[str]:
    """Every submitted value, and every key that is not one of the task's known field names."""
    if isinstance(value, dict):
        for k, v in value.items():
            if str(k) not in known and len(str(k)) >= 3:
                yield str(k)
            yield from _scalars(v, known)
    elif isinstance(value, (list, tuple)):
        for v in value[:10_000]:
            yield from _scalars(v, known)
    elif isinstance(value, (str, int, float)) and not isinstance(value, bool):
        # values of one or two characters ("1", "12") are too common to tell anything about a patient
        texts = {str(value).strip(), f"{value:g}" if isinstance(value, float) else ""}
        yield from (t for t in texts if len(t) >= 3)


def redact(message: str, inputs: Any = None, known: Iterable[str] = ()) -> str:
    """A task's input error without the submitted values: quoted values and `= number` are dropped, and
    any message that still contains one of the inputs is replaced by a generic one."""
    message = re.sub(r",? got .*$", "", message)
    message = re.sub(r"\s=\s[-+]?[\d.]+(e[-+]?\d+)?", "", message, flags=re.I)
    if inputs is not None and any(s in message for s in _scalars(inputs, frozenset(known))):
        return "the input does not match the task's input schema (check field names, types and ranges)"
    return message
