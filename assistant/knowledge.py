"""The knowledge base: Markdown documents read from a folder and split into chunks by heading.

Each chunk is one section (the text under one heading, down to the next heading of any level), tagged
with its document, the document's title (its `#` heading) and the section heading, so every answer can
cite "document > heading". Long sections are cut on paragraph boundaries into pieces of at most
`max_chars`; the pieces keep the heading. Fenced code blocks are never split and their `#` lines are not
headings. `corpus_hash` fingerprints the documents and the chunking so an index is rebuilt only when
either changes.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from assistant.errors import KnowledgeError

#: bump when the chunking changes, so persisted indexes are rebuilt
CHUNKER_VERSION = "2"
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$")


@dataclass(frozen=True)
class Chunk:
    doc: str  # file name, e.g. "model-ecg.md"
    title: str  # the document's first-level heading
    heading: str  # the section heading ("" for text before the first heading)
    text: str
    position: int  # order within the document

    @property
    def source(self) -> str:
        """How an answer cites this chunk: `document > heading`."""
        return f"{self.doc} > {self.heading}" if self.heading and self.heading != self.title else self.doc

    def embedding_text(self) -> str:
        """What is embedded: the title and heading give a short section its topic."""
        head = self.title if self.heading in ("", self.title) else f"{self.title}: {self.heading}"
        return f"{head}\n{self.text}"

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def _sections(text: str) -> list[tuple[int, str, list[str]]]:
    """(level, heading, lines) for every section; level 0 for text before the first heading."""
    sections: list[tuple[int, str, list[str]]] = [(0, "", [])]
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else _HEADING.match(line)
        if match:
            sections.append((len(match.group(1)), match.group(2).strip(), []))
        else:
            sections[-1][2].append(line)
    return sections


def _pieces(body: str, max_chars: int) -> list[str]:
    """Split on blank lines outside code fences into pieces of at most about `max_chars`."""
    paragraphs: list[str] = []
    current: list[str] = []
    fenced = False
    for line in body.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        if not line.strip() and not fenced:
            if current:
                paragraphs.append("\n".join(current))
                current = []
        else:
            current.append(line)
    if current:
        paragraphs.append("\n".join(current))
    out: list[str] = []
    for para in paragraphs:
        if out and len(out[-1]) + len(para) + 2 <= max_chars:
            out[-1] = f"{out[-1]}\n\n{para}"
        else:
            out.append(para)
    return out


def chunk_document(name: str, text: str, *, max_chars: int = 1400) -> list[Chunk]:
    """The chunks of one Markdown document."""
    sections = _sections(text)
    title = next((h for level, h, _ in sections if level == 1), Path(name).stem.replace("-", " "))
    chunks: list[Chunk] = []
    for level, heading, lines in sections:
        body = "\n".join(lines).strip()
        if not body:
            continue
        for piece in _pieces(body, max_chars):
            chunks.append(Chunk(doc=name, title=title, heading=heading if level else title, text=piece,
                                position=len(chunks)))
    return chunks


def document_paths(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise KnowledgeError(f"knowledge folder not found: {folder}")
    paths = sorted(p for p in folder.glob("*.md") if not p.name.startswith((".", "_")))
    if not paths:
        raise KnowledgeError(f"no Markdown documents in {folder}")
    return paths


def load_corpus(folder: Path, *, max_chars: int = 1400) -> tuple[list[Chunk], str]:
    """Every chunk of every document in `folder`, and the corpus hash (documents + chunker)."""
    digest = hashlib.sha256(f"chunker {CHUNKER_VERSION} max_chars {max_chars}\n".encode())
    chunks: list[Chunk] = []
    for path in document_paths(folder):
        text = path.read_text(encoding="utf-8")
        digest.update(f"{path.name}\n{len(text)}\n".encode())
        digest.update(text.encode())
        chunks.extend(chunk_document(path.name, text, max_chars=max_chars))
    return chunks, digest.hexdigest()
