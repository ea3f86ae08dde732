"""Shared pieces for tasks whose input is an image (pneumonia, glaucoma): reading, preprocessing, loading.

Every image, whatever its format or mode, goes through one path so that training data and a user's upload
are preprocessed identically: open with Pillow (EXIF orientation applied), convert to grey or RGB, crop the
centre square, resize with antialiased bicubic interpolation, scale to float32 in [0, 1], channels first.
Problems a user can cause raise `InvalidInputError` with one line naming the file, never a traceback.
The training configurations are here too; the network, augmentation and training loop live in
`hub.models._image_net` (torch), the task base in `hub.models._image_task`.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from hub.errors import InvalidInputError
from hub.models.base import Cases

if TYPE_CHECKING:  # Pillow is imported where an image is read: listing tasks does not need it
    from PIL import Image

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".gif", ".webp", ".ppm", ".pgm"})
#: smaller than this on either side carries too little to classify (and is usually a thumbnail or icon)
MIN_SIDE = 16
#: a folder larger than this is a data set, not a batch for prediction
MAX_FOLDER_IMAGES = 20_000


def open_image(path: Path, name: str | None = None, *, draft_to: int | None = None) -> Image.Image:
    """The image at `path`, decoded and upright (EXIF orientation applied); one-line error otherwise.

    `draft_to` lets a JPEG decoder scale down by a power of two while keeping at least that many pixels
    on each side, which makes large photographs several times faster to read at no visible cost.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError
    name = name or Path(path).name
    try:
        img = Image.open(path)
        if draft_to and img.format == "JPEG":
            img.draft(img.mode, (draft_to, draft_to))
        img.load()
        img = ImageOps.exif_transpose(img)
    except Image.DecompressionBombError:
        raise InvalidInputError(f"{name} is too large to be read safely") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, TypeError):
        # OSError covers truncated files, SyntaxError/ValueError malformed headers Pillow rejects
        raise InvalidInputError(f"{name} is not a readable image") from None
    w, h = img.size
    if min(w, h) < MIN_SIDE:
        raise InvalidInputError(f"{name} is too small ({w}x{h} px; at least {MIN_SIDE} px on each side)")
    return img


def _to_mode(img: Image.Image, channels: int) -> Image.Image:
    """Grey (channels=1) or RGB (3) 8-bit, from any Pillow mode."""
    from PIL import Image
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        # high bit depth (e.g. 16-bit X-ray exports): stretch the used range to 8 bits, like a viewer would
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        img = Image.fromarray(np.round(a).astype(np.uint8), mode="L")
    if img.mode == "P":
        img = img.convert("RGBA")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        # transparent areas become black: the background of both X-rays and fundus photographs
        rgba = img.convert("RGBA")
        img = Image.alpha_composite(Image.new("RGBA", rgba.size, (0, 0, 0, 255)), rgba)
    return img.convert("L" if channels == 1 else "RGB")


def preprocess(img: Image.Image, *, size: int, channels: int) -> np.ndarray:
    """uint8 (size, size) or (size, size, 3): mode converted, centre square crop, bicubic resize.

    MedMNIST made PneumoniaMNIST by centre-cropping each X-ray and resizing it; doing the same here keeps
    a full-size upload comparable with the training data. ACRIMA images are already square crops of the
    optic disc, so the crop only matters for other fundus photographs.
    """
    from PIL import Image
    img = _to_mode(img, channels)
    w, h = img.size
    side = min(w, h)
    if (w, h) != (side, side):
        left, top = (w - side) // 2, (h - side) // 2
        img = img.crop((left, top, left + side, top + side))
    if side != size:
        img = img.resize((size, size), Image.Resampling.BICUBIC)
    return np.asarray(img, dtype=np.uint8)


def to_tensor_layout(images: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) or (N, H, W, C) -> float32 (N, C, H, W) in [0, 1]."""
    a = images.astype(np.float32) / 255.0
    return a[:, None] if a.ndim == 3 else np.ascontiguousarray(a.transpose(0, 3, 1, 2))


def colourfulness(img: Image.Image) -> float:
    """Hasler & Suesstrunk (2003) colourfulness of an image (0 for grey-scale), on a 64 px thumbnail."""
    if img.mode not in ("RGB", "RGBA", "P", "CMYK", "YCbCr", "LAB", "HSV"):
        return 0.0
    thumb = img.convert("RGB")
    thumb.thumbnail((64, 64))
    a = np.asarray(thumb, dtype=np.float64)
    rg, yb = a[..., 0] - a[..., 1], 0.5 * (a[..., 0] + a[..., 1]) - a[..., 2]
    return float(np.hypot(rg.std(), yb.std()) + 0.3 * np.hypot(rg.mean(), yb.mean()))


def cases_from_images(images: list[np.ndarray], ids: list[str], sizes: list[tuple[int, int]],
                      colours: list[float] | None = None, **context: Any) -> Cases:
    """`Cases` with x (N, C, H, W); the preprocessed uint8 images stay in context for display."""
    stack = np.stack(images)
    colours = colours or [0.0] * len(images)
    return Cases(
        x=to_tensor_layout(stack),
        ids=ids,
        meta=[{"original_size": [int(w), int(h)], "colourfulness": round(c, 2)} for (w, h), c in zip(sizes, colours)],
        context={"display_images": stack, **context},
    )


def find_images(folder: Path) -> list[Path]:
    """Image files under `folder` (recursive, sorted), skipping hidden files and non-image files."""
    found = [
        p for p in sorted(folder.rglob("*"))
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES
        and not any(part.startswith(".") for part in p.relative_to(folder).parts)
    ]
    if not found:
        raise InvalidInputError(f"no images found in folder '{folder.name}' (expected PNG, JPEG, BMP or TIFF files)")
    if len(found) > MAX_FOLDER_IMAGES:
        raise InvalidInputError(f"folder '{folder.name}' holds {len(found)} images; at most {MAX_FOLDER_IMAGES} per batch")
    return found


def _read_files(files: list[Path], names: list[str], *, size: int, channels: int) -> tuple[list, list, list]:
    images, sizes, colours = [], [], []
    for path, name in zip(files, names):
        img = open_image(path, name, draft_to=4 * size)
        sizes.append(img.size)
        colours.append(colourfulness(img))
        images.append(preprocess(img, size=size, channels=channels))
    return images, sizes, colours


def read_image_path(path: Path, *, size: int, channels: int, **context: Any) -> Cases:
    """Cases from one image file or a folder of images (ids: file name, or path relative to the folder)."""
    path = Path(path)
    if path.is_dir():
        files = find_images(path)
        names = [p.relative_to(path).as_posix() for p in files]
    elif path.is_file():
        files, names = [path], [path.name]
    else:
        raise InvalidInputError(f"file or folder not found: {path.name or path}")
    images, sizes, colours = _read_files(files, names, size=size, channels=channels)
    return cases_from_images(images, names, sizes, colours, **context)


def array_to_image(a: np.ndarray, name: str = "image") -> Image.Image:
    """A PIL image from a (H, W), (H, W, 1), (H, W, 3) or (H, W, 4) array of any numeric type."""
    from PIL import Image
    a = np.asarray(a)
    if a.ndim == 3 and a.shape[-1] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[-1] not in (3, 4)) or a.dtype.kind not in "uifb":
        raise InvalidInputError(f"{name}: expected an image array of shape (H, W) or (H, W, 3), got {a.shape}")
    if not np.isfinite(a).all():
        raise InvalidInputError(f"{name}: image array contains NaN or infinite values")
    if a.dtype != np.uint8:
        a = a.astype(np.float64)
        lo, hi = float(a.min()), float(a.max())
        if lo >= 0 and hi <= 1 and a.dtype.kind == "f":
            a = a * 255.0  # float images in [0, 1]
        elif lo < 0 or hi > 255:
            a = (a - lo) / (hi - lo) * 255.0 if hi > lo else np.zeros_like(a)
        a = np.clip(np.round(a), 0, 255).astype(np.uint8)
    h, w = a.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise InvalidInputError(f"{name} is too small ({w}x{h} px; at least {MIN_SIDE} px on each side)")
    return Image.fromarray(a, mode={2: "L", 3: "RGB", 4: "RGBA"}[a.ndim if a.ndim == 2 else a.shape[-1]])


def prepare_images(raw: Any, *, size: int, channels: int, **context: Any) -> Cases:
    """Cases from a PIL image, an image array, a batch array (N, H, W[, C]) or a list of these."""
    from PIL import Image
    if isinstance(raw, (Image.Image, np.ndarray)):
        single = isinstance(raw, Image.Image) or raw.ndim == 2 or (raw.ndim == 3 and raw.shape[-1] in (1, 3, 4))
        items = [raw] if single else list(raw)
    elif isinstance(raw, (list, tuple)):
        items = list(raw)
    else:
        raise InvalidInputError(f"expected an image (PIL image or numpy array), got {type(raw).__name__}")
    if not items:
        raise InvalidInputError("no images given")
    images, sizes, ids, colours = [], [], [], []
    for i, item in enumerate(items, start=1):
        name = f"image {i}"
        if isinstance(item, Image.Image):
            img = item
            if min(img.size) < MIN_SIDE:
                raise InvalidInputError(f"{name} is too small ({img.size[0]}x{img.size[1]} px; at least {MIN_SIDE} px on each side)")
        else:
            img = array_to_image(item, name)
        sizes.append(img.size)
        colours.append(colourfulness(img))
        images.append(preprocess(img, size=size, channels=channels))
        ids.append(name)
    return cases_from_images(images, ids, sizes, colours, **context)


def _npz_key(files: list[str], key: str | None, name: str) -> str:
    if key is not None:
        if key not in files:
            raise InvalidInputError(f"{name} has no array named '{key}' (arrays: {', '.join(files) or 'none'})")
        return key
    if "images" in files:
        return "images"
    candidates = [k for k in files if k.endswith("_images")]
    for preferred in ("test_images", "val_images", "train_images"):
        if preferred in candidates:
            return preferred
    if not candidates:
        raise InvalidInputError(f"{name} has no images array (expected 'images' or '<split>_images')")
    return sorted(candidates)[0]


def read_npz(path: Path, *, size: int, channels: int, key: str | None = None, **context: Any) -> Cases:
    """Cases from a MedMNIST-style `.npz` (N, H, W) image array; labels beside it go to context."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise InvalidInputError(f"file not found: {name}")
    try:
        with np.load(path, allow_pickle=False) as data:  # never unpickle a user's file
            k = _npz_key(list(data.files), key, name)
            arr = data[k]
            label_key = k[: -len("images")] + "labels"
            labels = data[label_key] if label_key in data.files else None
    except InvalidInputError:
        raise
    except (OSError, ValueError, EOFError, KeyError, zipfile.BadZipFile):
        raise InvalidInputError(f"{name} is not a readable .npz file") from None
    if arr.ndim == 4 and arr.shape[-1] in (1, 3):
        arr = arr[..., 0] if arr.shape[-1] == 1 else arr
    if arr.ndim not in (3, 4) or len(arr) == 0 or arr.dtype.kind not in "uif":
        raise InvalidInputError(f"{name}: '{k}' must be an (N, H, W) image array, got shape {arr.shape}")
    ids = [f"image {i}" for i in range(1, len(arr) + 1)]
    images, sizes = [], []
    for i, a in enumerate(arr):
        img = array_to_image(a, f"{name} {ids[i]}")
        sizes.append(img.size)
        images.append(preprocess(img, size=size, channels=channels))
    if labels is not None and len(labels) == len(arr):
        context["true_labels"] = np.asarray(labels).reshape(len(arr), -1)[:, 0].astype(np.int64)
    return cases_from_images(images, ids, sizes, npz_key=k, **context)


# ----- training data -----------------------------------------------------------------------------------
def _stamp(files: list[Path]) -> tuple:
    return tuple((str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in files)


@lru_cache(maxsize=4)
def _load_folders_cached(folder: str, labels: tuple[str, ...], size: int, channels: int, stamp: tuple):
    root = Path(folder)
    images, y, ids = [], [], []
    for k, label in enumerate(labels):
        files = find_images(root / label)
        names = [p.relative_to(root).as_posix() for p in files]
        imgs, _, _ = _read_files(files, names, size=size, channels=channels)
        images += imgs
        y += [k] * len(imgs)
        ids += names
    x = to_tensor_layout(np.stack(images))
    x.setflags(write=False)  # shared by every caller of the cache
    return x, np.asarray(y, dtype=np.int64), ids


def load_class_folders(folder: Path, labels: tuple[str, ...], *, size: int, channels: int) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Folder-per-class images (`folder/<label>/...`) as x float32 (N, C, H, W), y int64 and relative ids.

    Decoded, resized images are cached in memory (keyed by the files' names, sizes and times), so
    repeated training runs and federated rounds read the JPEGs once.
    """
    folder = Path(folder)
    missing = [lab for lab in labels if not (folder / lab).is_dir()]
    if missing:
        raise InvalidInputError(
            f"folder '{folder.name}' needs one sub-folder per class ({', '.join(labels)}); missing: {', '.join(missing)}"
        )
    stamp = _stamp([p for lab in labels for p in find_images(folder / lab)])
    x, y, ids = _load_folders_cached(str(folder.resolve()), tuple(labels), size, channels, stamp)
    return x.copy(), y.copy(), list(ids)


@dataclass
class AugmentConfig:
    rotate_deg: float = 10.0
    scale: float = 0.1  # zoom factor drawn from 1 +- scale
    shift: float = 0.06  # translation as a fraction of the image side
    hflip: bool = False
    vflip: bool = False
    brightness: float = 0.1  # additive, in [0, 1] intensity units
    contrast: float = 0.15  # multiplicative around the image mean
    colour: float = 0.0  # per-channel multiplicative jitter (RGB only)
    padding: str = "border"  # what enters from outside the image: "border" (X-ray) or "zeros" (fundus)


@dataclass
class ImageFitConfig:
    epochs: int = 20
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 5e-4
    label_smoothing: float = 0.05
    warmup_epochs: int = 1
    seed: int = 0
    #: stop early (keeping the best epoch so far) when training would exceed this many seconds
    max_seconds: float | None = None
