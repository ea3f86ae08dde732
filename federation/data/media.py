"""Hospital data for image and signal tasks: folder-per-class images, WFDB records.

Images: `<path>/<label>/*.png|jpg...` with one sub-folder per class of the task. File names and image
metadata (EXIF text tags, PNG/JPEG text chunks and comments) are scanned for identifiers; DICOM is not
accepted here (export de-identified PNG/JPEG first). Signals: WFDB records (`.hea` + `.dat`, beat
annotations `.atr`) in one folder; record names and header comments are scanned.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from federation.data.identifiers import scan_texts
from federation.data.report import Loaded, Problem
from hub.errors import HubError
from hub.models.base import Task

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff"})
# EXIF tags that carry free text or people: ImageDescription, Make? no; Artist, Copyright, UserComment,
# XPTitle/XPComment/XPAuthor/XPKeywords/XPSubject, DocumentName, HostComputer
_EXIF_TEXT_TAGS = {270: "ImageDescription", 315: "Artist", 33432: "Copyright", 37510: "UserComment",
                   40091: "XPTitle", 40092: "XPComment", 40093: "XPAuthor", 40094: "XPKeywords",
                   40095: "XPSubject", 269: "DocumentName", 316: "HostComputer"}
# chunk keys PIL exposes in `info` that are technical, not text written by a person
_TECHNICAL_INFO = {"dpi", "gamma", "transparency", "jfif", "jfif_version", "jfif_unit", "jfif_density",
                   "progressive", "progression", "icc_profile", "exif", "adobe", "adobe_transform",
                   "compression", "aspect", "interlace", "srgb", "chromaticity", "loop", "duration",
                   "background", "version", "extension", "photoshop", "mp", "mpoffset", "xmp"}


def _metadata_texts(path: Path) -> list[tuple[str, str]]:
    """(where, text) for every human-written text field in an image's metadata."""
    from PIL import Image

    out: list[tuple[str, str]] = []
    with Image.open(path) as img:
        for key, value in img.info.items():
            if str(key).lower() in _TECHNICAL_INFO:
                continue
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            if text.strip():
                out.append((f"metadata {key}", text))
        exif = img.getexif()
        for tag, value in exif.items():
            if tag in _EXIF_TEXT_TAGS:
                text = value.decode("utf-16-le", "replace") if isinstance(value, bytes) else str(value)
                if text.strip("\x00 "):
                    out.append((f"EXIF {_EXIF_TEXT_TAGS[tag]}", text))
    return out


def load_images(task: Task, path: Path) -> Loaded:
    from hub.models._image import load_class_folders

    if not path.is_dir():
        return Loaded(problems=[Problem("data", "format", f"'{path.name}' is not a folder (one sub-folder per class)")])
    problems: list[Problem] = []
    missing = [lab for lab in task.labels if not (path / lab).is_dir()]
    if missing:
        problems.append(Problem("class folders", "schema", f"missing sub-folder(s): {', '.join(missing)}"))
    extra = sorted(p.name for p in path.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in task.labels)
    if extra:
        problems.append(Problem("class folders", "schema", f"unknown class folder(s) ({len(extra)}); expected {', '.join(task.labels)}"))
    files = [p for lab in task.labels if (path / lab).is_dir() for p in sorted((path / lab).rglob("*"))
             if p.is_file() and not p.name.startswith(".")]
    others = [p for p in files if p.suffix.lower() not in IMAGE_SUFFIXES]
    if others:
        problems.append(Problem("files", "format", f"{len(others)} file(s) that are not PNG/JPEG/BMP/TIFF images"))
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    name_hits = [p for p in images if scan_texts([p.stem])]
    if name_hits:
        kinds = sorted(scan_texts(p.stem for p in name_hits))
        problems.append(Problem("file names", "identifier",
                                f"{len(name_hits)} file name(s) look like they hold identifiers ({', '.join(kinds)}); rename them"))
    meta: dict[str, int] = {}
    unreadable = 0
    for p in images:
        try:
            for where, _text in _metadata_texts(p):
                meta[where] = meta.get(where, 0) + 1
        except OSError:
            unreadable += 1
    for where, n in sorted(meta.items()):
        problems.append(Problem(f"image {where}", "identifier",
                                f"{n} image(s) carry text metadata that may identify the patient; strip metadata first"))
    if unreadable:
        problems.append(Problem("files", "format", f"{unreadable} image(s) cannot be read"))
    if problems or not images:
        if not images and not missing:
            problems.append(Problem("data", "format", "no images found"))
        return Loaded(problems=problems)
    size, channels = task.image_size, task.channels  # type: ignore[attr-defined]
    try:
        x, y, ids = load_class_folders(path, task.labels, size=size, channels=channels)
    except HubError as exc:
        return Loaded(problems=[Problem("images", "format", exc.message)])
    return Loaded(x=x, y=y, ids=ids, facts={"image_size": size, "channels": channels})


def load_wfdb(task: Task, path: Path) -> Loaded:
    from hub.models import ecg

    if not path.is_dir():
        return Loaded(problems=[Problem("data", "format", f"'{path.name}' is not a folder of WFDB records")])
    headers = sorted(path.glob("*.hea"))
    if not headers:
        return Loaded(problems=[Problem("records", "format", "no WFDB records (.hea) found")])
    problems: list[Problem] = []
    name_hits = [h for h in headers if scan_texts([h.stem])]
    if name_hits:
        problems.append(Problem("record names", "identifier",
                                f"{len(name_hits)} record name(s) look like identifiers; rename them"))
    comment_hits = 0
    for h in headers:
        comments = [ln.lstrip("#").strip() for ln in h.read_text(errors="replace").splitlines() if ln.startswith("#")]
        if scan_texts(comments):
            comment_hits += 1
    if comment_hits:
        problems.append(Problem("header comments", "identifier",
                                f"{comment_hits} record header(s) hold identifiers in comments; remove them"))
    no_ann = [h.stem for h in headers if not (path / f"{h.stem}.atr").is_file()]
    if no_ann:
        problems.append(Problem("annotations", "schema", f"{len(no_ann)} record(s) without beat annotations (.atr)"))
    if problems:
        return Loaded(problems=problems)
    xs, ys, groups = [], [], []
    for h in headers:
        try:
            x, y, _ = ecg.load_record(path, h.stem)
        except (HubError, ValueError, OSError) as exc:
            problems.append(Problem(f"record {h.stem}", "format", str(getattr(exc, "message", type(exc).__name__))))
            continue
        xs.append(x)
        ys.append(y)
        groups.append(np.full(len(y), len(groups)))
    if problems or not xs:
        return Loaded(problems=problems or [Problem("records", "format", "no readable record")])
    y = np.concatenate(ys).astype(np.int64)
    return Loaded(x=np.concatenate(xs).astype(np.float32), y=y, ids=[f"beat {i}" for i in range(len(y))],
                  facts={"records": len(xs)})

