"""Error messages without the submitted values: the API and the CLI word a bad input the same way.

A task's input error may quote what it was given ("got 'JANEDOE-4711'", "= 71.2"); a patient's values must
not travel back in an error, a log line or a terminal scroll-back. `redact` drops those parts, and when
the inputs are known (the API has them), replaces any submitted value still in the message by "[value]",
so the message keeps naming the field and the rule (the valid range) it broke.
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
    """A task's input error without the submitted values, still naming the field and the rule: quoted
    values and `= number` are dropped, and any remaining submitted value or unknown key is replaced by
    "[value]" (whole tokens only, so the valid range in the message stays readable)."""
    message = re.sub(r",? got .*$", "", message)
    message = re.sub(r"\s=\s[-+]?[\d.]+(e[-+]?\d+)?", "", message, flags=re.I)
    if inputs is None:
        return message
    for text in sorted(set(_scalars(inputs, frozenset(known))), key=len, reverse=True):
        message = re.sub(rf"(?<![\w.]){re.escape(text)}(?![\w.])", "[value]", message)
        if not re.fullmatch(r"[-+\d.e]+", text):  # a word inside a longer token: still never echoed
            message = message.replace(text, "[value]")
    return message
