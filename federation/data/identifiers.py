"""Identifier scan: patient identifiers in column names, cell values, file names and image metadata.

The scan is deliberately conservative (a hospital re-exports a refused file; a leaked identifier cannot
be recalled). Every finding names the column (or file group) and the kind of identifier, never the
value itself, so the refusal message is safe to print, log and send.

Kinds: person name, e-mail address, phone number, national / insurance number, medical record number,
exact date (of birth), postal address, free text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# ----- column names (normalised: lower case, separators -> single space) ---------------------------
_NAME_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("e-mail address", re.compile(r"\b(e ?mail|email address)\b")),
    ("phone number", re.compile(r"\b(phone|telephone|tel|mobile|cell|fax)\b")),
    ("national / insurance number", re.compile(
        r"\b(ssn|social security|nhs|national id|national insurance|nin|insurance|policy|medicare|medicaid|"
        r"passport|tax id|health card)\b")),
    ("medical record number", re.compile(r"\b(mrn|medical record|record (number|no|nr)|patient (id|number|no)|"
                                         r"case (id|number)|chart|accession|encounter|id|uid|uuid|identifier)\b")),
    ("exact date of birth", re.compile(r"\b(dob|date of birth|birth ?date|birthday|born)\b")),
    ("postal address", re.compile(r"\b(address|street|zip|zip code|postcode|postal code|city|town)\b")),
    ("person name", re.compile(r"\b(name|first name|last name|surname|given name|full name|patient|initials)\b")),
    ("free text", re.compile(r"\b(note|notes|comment|comments|remarks|description|history|free text|report)\b")),
]

# ----- cell values ----------------------------------------------------------------------------------
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.-]+")
_SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_NHS = re.compile(r"\b\d{3} \d{3} \d{4}\b")
_PHONE = re.compile(r"(\+\d{1,3}[\s.-]?)?(\(\d{2,4}\)[\s.-]?|\d{2,4}[\s.-])\d{3,4}[\s.-]\d{3,4}\b")
_MRN = re.compile(r"\b(mrn|pid|id|pt|patient)[\s:#_-]*\d{4,}\b|\b[A-Z]{1,3}\d{6,}\b|\b\d{7,}\b", re.IGNORECASE)
_DATE = re.compile(
    r"\b(19|20)\d{2}[-/.](0?[1-9]|1[0-2])[-/.](0?[1-9]|[12]\d|3[01])\b"
    r"|\b(0?[1-9]|[12]\d|3[01])[-/.](0?[1-9]|1[0-2])[-/.](19|20)\d{2}\b"
    r"|\b(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])/(19|20)\d{2}\b"
)
_ADDRESS = re.compile(
    r"\b\d{1,5}\s+([A-Z][a-z]+\s+){1,3}(street|st|road|rd|avenue|ave|lane|ln|drive|dr|boulevard|blvd|way|"
    r"court|ct|place|pl|square|sq|strasse|straße|rue|via)\b\.?",
    re.IGNORECASE,
)
_PERSON = re.compile(r"^(mr|mrs|ms|dr|prof)?\.?\s*[A-Z][a-z]+(\s+[A-Z]\.)?(\s+[A-Z][a-z'-]+)+$")
# common given names: catch "jane_doe_scan.png" style file names and metadata without a dictionary service
_GIVEN_NAMES = frozenset(
    "james john robert michael william david richard joseph thomas charles mary patricia jennifer linda "
    "elizabeth barbara susan jessica sarah karen maria anna emma olivia sophia mohammed ahmed ali fatima "
    "wei li juan jose carlos luis hans peter paul mark daniel laura julia lucas noah liam jane jan "
    "pierre marie giulia marco ivan olga yuki hiroshi priya raj".split()
)

_VALUE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("e-mail address", _EMAIL),
    ("national / insurance number", _SSN),
    ("national / insurance number", _NHS),
    ("exact date of birth", _DATE),
    ("postal address", _ADDRESS),
    ("phone number", _PHONE),
    ("medical record number", _MRN),
]


def normalise(name: str) -> str:
    return re.sub(r"[\s_\-./]+", " ", str(name).strip().lower()).strip()


def column_name_kind(name: str) -> str | None:
    """The identifier kind a column's name announces, or None."""
    norm = normalise(name)
    for kind, rule in _NAME_RULES:
        if rule.search(norm):
            return kind
    return None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def text_kinds(text: str) -> set[str]:
    """Identifier kinds found in one piece of text (a cell, a file name, a metadata value)."""
    found = {kind for kind, rule in _VALUE_RULES if rule.search(text)}
    if _PERSON.match(text.strip()):
        found.add("person name")
    tokens = {t for t in re.split(r"[^a-z]+", text.lower()) if t}
    if tokens & _GIVEN_NAMES:
        found.add("person name")
    return found


def values_kind(values: Sequence[str]) -> str | None:
    """The identifier kind a column's values show, or "free text" for prose, or None.

    Pure numbers never count (a numeric feature is not an identifier by its values alone, except a
    column of long unique integers, which is a record number).
    """
    cells = [v.strip() for v in values if v is not None and str(v).strip()]
    if not cells:
        return None
    numeric = [c for c in cells if _is_number(c)]
    if len(numeric) == len(cells):
        ints = [c for c in numeric if re.fullmatch(r"\d{6,}", c)]
        if len(ints) >= max(1, len(cells) // 2) and len(set(ints)) == len(ints):
            return "medical record number"
        return None
    text = [c for c in cells if not _is_number(c)]
    counts: dict[str, int] = {}
    for cell in text:
        for kind in text_kinds(cell):
            counts[kind] = counts.get(kind, 0) + 1
    # strong patterns count on a single hit; names need a pattern across the column
    for kind in ("e-mail address", "national / insurance number", "exact date of birth", "postal address",
                 "phone number", "medical record number"):
        if counts.get(kind):
            return kind
    if counts.get("person name", 0) >= max(1, len(text) // 4):
        return "person name"
    words = sum(len(c.split()) for c in text) / len(text)
    if words >= 3 or sum(len(c) for c in text) / len(text) > 30:
        return "free text"
    return None


def scan_texts(texts: Iterable[str]) -> set[str]:
    """Union of identifier kinds found in several texts (file names, metadata values)."""
    found: set[str] = set()
    for t in texts:
        found |= text_kinds(t)
    return found
