"""Input limits checked from sizes and headers before an input is decoded.

A hostile or careless input (a million-row CSV, a 24-hour ECG, a 100-megapixel image) must be refused
from what can be learnt cheaply (the file size, a line count streamed in fixed-size chunks, an image
header, a WFDB header) before a parser builds it in memory. Each kind of input has its checks here
(`check_table_file`, `check_image_file`, `check_signal_file`, `check_image_inline`, ...); a task's
`check_file` / `check_inline` (`hub.models.base.Task`) picks its own, so nothing switches on a kind. They raise
`InputTooLarge` with a one-line message that names the limit, never a value of the input; they return
the number of cases the input holds where that is known up front (rows of a table), which the API
bills and holds against the caller's file limit before any model work.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.errors import InputTooLarge, InvalidInputError

TABLE_SUFFIXES = (".csv", ".tsv", ".txt")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
_CHUNK = 1 << 16  # lines of one chunk are split into objects: 64 KiB keeps that near 1 MB


@dataclass(frozen=True)
class InputLimits:
    """What one input may hold. Defaults fit every shipped task; the API narrows `max_rows` per tier."""

    max_file_bytes: int = 64 * 1024 * 1024
    max_rows: int = 100_000
    max_pixels: int = 4096 * 4096
    max_signal_seconds: float = 2 * 3600.0
    max_images: int = 20_000


DEFAULT = InputLimits()


def count_lines(path: Path, *, stop_after: int) -> int:
    """Non-blank, non-comment lines of a text file, read in 64 KiB chunks; counting stops past `stop_after`.

    Memory is one chunk whatever the file's size, so a line count can bound a file before parsing it.
    """
    count, tail = 0, b""
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            lines = (tail + chunk).split(b"\n")
            tail = lines.pop()
            count += sum(1 for line in lines if line.strip() and not line.lstrip().startswith(b"#"))
            if count > stop_after:
                return count
    if tail.strip() and not tail.lstrip().startswith(b"#"):
        count += 1
    return count


def _head_text(path: Path, size: int = 4096) -> str:
    with open(path, "rb") as fh:
        return fh.read(size).decode("utf-8", errors="replace")


def _signal_fs(path: Path, options: dict[str, Any]) -> float | None:
    if options.get("fs") is not None:
        try:
            return float(options["fs"])
        except (TypeError, ValueError):
            return None  # the task's own check reports a malformed rate
    m = re.search(r"#.*?(?:fs|sampling[_ ]?rate|sample[_ ]?rate|frequency|hz)\s*[:=]\s*([0-9.eE+\-]+)",
                  _head_text(path), re.I)
    try:
        return float(m.group(1)) if m else None
    except ValueError:
        return None


def _wfdb_seconds(header: Path) -> float | None:
    """Duration from the record line of a WFDB header (`name nsig fs[/counter][(base)] siglen ...`)."""
    for line in _head_text(header).splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        parts = line.split()
        if len(parts) < 4:
            return None
        try:
            fs = float(re.split(r"[/(]", parts[2])[0])
            return int(parts[3]) / fs if fs > 0 else None
        except ValueError:
            return None
    return None


def _check_seconds(seconds: float | None, limits: InputLimits, *, counted_to_limit: bool = False) -> None:
    if seconds is not None and seconds > limits.max_signal_seconds:
        # a count stopped at the limit knows only that the signal is longer
        length = (f"longer than {limits.max_signal_seconds / 60:g} min" if counted_to_limit
                  else f"{seconds / 60:.0f} min")
        raise InputTooLarge(f"signal is too long: {length}; at most {limits.max_signal_seconds / 60:g} min per input")


def _check_pixels(width: int, height: int, limits: InputLimits) -> None:
    if width * height > limits.max_pixels:
        raise InputTooLarge(f"image is too large: {width} x {height} pixels; at most {limits.max_pixels:,} pixels")


def check_file_size(path: Path, limits: InputLimits = DEFAULT) -> bool:
    """Refuse a file over `max_file_bytes`; False where there is no plain file to check (missing: the task's
    reader says "file not found" in its own words; a folder: the kind's own check counts what it holds)."""
    path = Path(path)
    if not path.is_file():
        return False
    size = path.stat().st_size
    if size > limits.max_file_bytes:
        raise InputTooLarge(f"{path.name} is {size / 2**20:.1f} MiB; at most {limits.max_file_bytes / 2**20:g} MiB "
                            "per input file")
    return True


def check_table_file(path: Path, *, limits: InputLimits = DEFAULT, **options: Any) -> int | None:
    """A table (one case per row): the size, then the rows counted in chunks; the rows it holds or None."""
    path = Path(path)
    if not check_file_size(path, limits) or path.suffix.lower() not in TABLE_SUFFIXES:
        return None
    lines = count_lines(path, stop_after=limits.max_rows + 1)
    rows = max(lines - 1, 0)  # the header line names the fields
    if rows > limits.max_rows:
        raise InputTooLarge(f"{path.name} holds more than {limits.max_rows:,} rows; at most {limits.max_rows:,} "
                            "cases per file")
    return rows


def check_signal_file(path: Path, *, limits: InputLimits = DEFAULT, **options: Any) -> None:
    """A signal (CSV of samples or WFDB record): the size, then the duration from line count or header."""
    path = Path(path)
    if not check_file_size(path, limits):
        return None
    suffix = path.suffix.lower()
    if suffix in TABLE_SUFFIXES:
        fs = _signal_fs(path, options)
        if fs and fs > 0:
            # one sample per line: the line count bounds the duration before any number is parsed
            stop = int(limits.max_signal_seconds * fs) + 2
            lines = count_lines(path, stop_after=stop)
            _check_seconds((lines - 1) / fs, limits, counted_to_limit=lines > stop)
    elif suffix in (".hea", ".dat", "") or path.with_suffix(".hea").is_file():
        header = path.with_suffix(".hea")
        if header.is_file():
            _check_seconds(_wfdb_seconds(header), limits)
    return None


def check_image_file(path: Path, *, limits: InputLimits = DEFAULT, **options: Any) -> None:
    """An image, an .npz of images or a folder of images: the count, size and pixels from headers."""
    path = Path(path)
    if path.is_dir():
        n = sum(1 for p in path.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if n > limits.max_images:
            raise InputTooLarge(f"folder holds {n} images; at most {limits.max_images} per batch")
        return None
    if not check_file_size(path, limits):
        return None
    suffix = path.suffix.lower()
    if suffix == ".npz":
        _check_npz(path, limits)
    elif suffix in IMAGE_SUFFIXES:
        from PIL import Image, UnidentifiedImageError

        try:
            with Image.open(path) as img:  # lazy: reads the header, decodes nothing
                _check_pixels(*img.size, limits)
        except (UnidentifiedImageError, OSError):
            return None  # not an image: the task's reader refuses it in its own words
    return None


def _check_npz(path: Path, limits: InputLimits) -> None:
    """Array shapes from the .npy headers inside an .npz (no array is read)."""
    import numpy as np

    try:
        with zipfile.ZipFile(path) as zf:
            for info in zf.infolist():
                if not info.filename.endswith(".npy"):
                    continue
                with zf.open(info) as fh:
                    fmt = np.lib.format
                    version = fmt.read_magic(fh)
                    if version not in ((1, 0), (2, 0)):
                        continue  # format 3.0 (utf-8 field names): no public header reader; the loader bounds it
                    read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
                    shape = read(fh)[0]  # the header only: no array data is read
                count = 1
                for d in shape:
                    count *= int(d)
                if count > limits.max_pixels * 4:
                    raise InputTooLarge(f"{path.name}: array {info.filename} holds {count:,} values; at most "
                                        f"{limits.max_pixels * 4:,} per input")
    except (zipfile.BadZipFile, ValueError, OSError):
        raise InvalidInputError(f"{path.name} is not a readable .npz archive") from None


def _length(value: Any) -> int:
    return len(value) if isinstance(value, (list, tuple)) else 0


def check_signal_inline(raw: Any, *, limits: InputLimits = DEFAULT, **options: Any) -> None:
    """An inline signal (a list of samples): its duration from the length and `fs`."""
    if not isinstance(raw, (list, tuple)):
        return
    fs = options.get("fs")
    try:
        fs = float(fs) if fs is not None else None
    except (TypeError, ValueError):
        fs = None
    if fs and fs > 0:
        _check_seconds(_length(raw) / fs, limits)


def check_image_inline(raw: Any, *, limits: InputLimits = DEFAULT, **options: Any) -> None:
    """An inline image (nested lists) or a batch of them: the first image's pixels."""
    if not isinstance(raw, (list, tuple)) or not raw:
        return
    first = raw[0]
    height = _length(raw)
    width = _length(first)
    if width and isinstance(first[0], (list, tuple)) and _length(first[0]) > 4:
        height, width = width, _length(first[0])  # a batch of images: check the first one's size
    _check_pixels(width, height, limits)
