"""Publications: what the cabinet shows a school under a section (ВПР, ВПР СПО, …).

Every collection is a publication (its section, title, info and files say most of it); a
publication with no form at all is declared in ``forms/publications/*.yaml`` (manual 000, «Просмотр
публикации»: general information, a file storage and, optionally, a data collection block).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from forms.collection import Collection, Participants, load_collection, read_participants
from forms.loader import _Reader, _yaml

PUBLICATIONS_DIR = Path(str(resources.files("forms"))) / "publications"
COLLECTIONS_DIR = Path(str(resources.files("forms"))) / "collections"


@dataclass(frozen=True)
class Document:
    """A link in the «Блок общей информации»."""

    title: str
    href: str


@dataclass(frozen=True)
class Publication:
    id: str
    title: str
    section: str
    info: str
    participants: Participants
    documents: tuple[Document, ...] = ()
    collection_id: str | None = None  # the data collection block, if the publication has one
    expected_files: tuple[str, ...] = ()  # names the collection says are attached


def from_collection(c: Collection) -> Publication:
    return Publication(c.id, c.title, c.section, c.info, c.participants, (), c.id, c.files)


def load_publication(path: Path | str) -> Publication:
    """Read one form-less publication. Raises ``SpecError`` naming the file and line."""
    path = Path(path)
    r = _Reader(str(path), _yaml(path))
    r.unknown({"id", "title", "section", "info", "documents", "participants"})
    _, participants = read_participants(r, "a publication")
    documents = []
    for d in r.children("documents"):
        d.unknown({"title", "href"})
        href = d.get("href", str, what="a document")
        if not href.startswith(("https://", "http://", "/")):
            # A javascript: or data: link in a page would run in the school's session.
            raise d.fail(f"a document's href must start with https://, http:// or /, got {href!r}")
        documents.append(Document(d.get("title", str, what="a document"), href))
    return Publication(
        id=r.get("id", str, what="a publication"),
        title=r.get("title", str, what="a publication"),
        section=r.get("section", str, what="a publication"),
        info=r.get("info", str, default=""),
        participants=participants,
        documents=tuple(documents),
    )


def load_publications(collections: Iterable[Collection] = (),
                      folder: Path = PUBLICATIONS_DIR) -> tuple[Publication, ...]:
    """The form-less publications of ``folder`` and one per collection, sorted by section and
    title; a repeated id is a ``ValueError``."""
    pubs = [load_publication(p) for p in sorted(folder.glob("*.yaml"))]
    pubs += [from_collection(c) for c in collections]
    seen: set[str] = set()
    for p in pubs:
        if p.id in seen:
            raise ValueError(f"publication id {p.id!r} is declared twice")
        seen.add(p.id)
    return tuple(sorted(pubs, key=lambda p: (p.section, p.title)))


@cache
def builtin_publications() -> tuple[Publication, ...]:
    """The publications that ship with sbor: the seed collections and ``forms/publications/``."""
    return load_publications(load_collection(p) for p in sorted(COLLECTIONS_DIR.glob("*.yaml")))
