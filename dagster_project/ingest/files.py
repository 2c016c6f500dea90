"""Finding landing files and fingerprinting them (pure Python, no database).

A landing file is identified by the sha256 of its bytes (``content_hash``). While the
bytes are read for the hash, the physical lines of text files are counted too (after
gzip decompression): the CSV reader uses that count to know whether its cheap line
numbering is exact (see ``readers``). Both are C-speed passes over the bytes, never a
Python loop over rows.
"""

from __future__ import annotations

import gzip
import hashlib
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

# Longest suffix first: ".csv.gz" must win over ".gz".
FORMATS: tuple[tuple[str, str, str | None], ...] = (
    (".csv.gz", "csv", "gzip"),
    (".jsonl.gz", "jsonl", "gzip"),
    (".ndjson.gz", "jsonl", "gzip"),
    (".csv", "csv", None),
    (".jsonl", "jsonl", None),
    (".ndjson", "jsonl", None),
    (".parquet", "parquet", None),
)
LANDING_SUFFIXES = tuple(suffix for suffix, _, _ in FORMATS)

_CHUNK = 1 << 20


@dataclass(frozen=True)
class LandingFile:
    """One landable file of a source."""

    path: Path
    name: str  # relative to the landing dir, forward slashes: "<source>/dt=.../x.csv"
    rel: str  # relative to the source folder; files are taken in this order
    format: str  # "csv" | "jsonl" | "parquet"
    compression: str | None  # "gzip" or None
    size: int


@dataclass(frozen=True)
class Fingerprint:
    content_hash: str  # sha256 of the file bytes, hex
    # Physical lines of the (decompressed) text; None for Parquet or when the bytes
    # cannot be decompressed (the reader will then fail or number lines the slow way).
    lines: int | None
    newlines: int = 0  # b"\n" in the text
    crlf: int = 0  # b"\r\n" in the text

    @property
    def mixed_line_ends(self) -> bool:
        """Some lines end with CRLF and others with LF only (DuckDB's strict CSV reader
        rejects such files as a whole)."""
        return 0 < self.crlf < self.newlines


def landing_format(filename: str) -> tuple[str, str | None] | None:
    """(format, compression) of a file name, or None when it is not a landing format."""
    lower = filename.lower()
    for suffix, fmt, compression in FORMATS:
        if lower.endswith(suffix) and len(lower) > len(suffix):
            return fmt, compression
    return None


def discover(landing_dir: Path, source: str) -> tuple[list[LandingFile], list[str]]:
    """Landable files under ``landing_dir/source`` (recursively, in order of their path
    relative to the source folder) and the relative paths of the other files found there.

    Hidden files and folders (name starting with '.') are never landable: they are how
    tools write partial files before renaming them.
    """
    folder = Path(landing_dir) / source
    if not folder.is_dir():
        return [], []
    files: list[LandingFile] = []
    ignored: list[str] = []
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(folder).as_posix()
        fmt = landing_format(path.name)
        if fmt is None or any(part.startswith(".") for part in rel.split("/")):
            ignored.append(rel)
            continue
        try:
            size = path.stat().st_size
        except OSError:  # vanished while listing: the next run sees it or not
            continue
        files.append(
            LandingFile(
                path=path,
                name=f"{source}/{rel}",
                rel=rel,
                format=fmt[0],
                compression=fmt[1],
                size=size,
            )
        )
    files.sort(key=lambda f: f.rel)
    ignored.sort()
    return files, ignored


def fingerprint(file: LandingFile) -> Fingerprint:
    """sha256 of the bytes and, for text formats, the number of physical lines
    (newlines, plus one for a last line without a newline)."""
    digest = hashlib.sha256()
    count_lines = file.format in ("csv", "jsonl")
    counter = _LineCounter(gzip=file.compression == "gzip") if count_lines else None
    with open(file.path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            if counter is not None:
                counter.feed(chunk)
    if counter is None:
        return Fingerprint(digest.hexdigest(), None)
    return Fingerprint(digest.hexdigest(), counter.result(), counter.newlines, counter.crlf)


def text_chunks(file: LandingFile) -> Iterator[bytes]:
    """The (decompressed) bytes of a text file, in chunks."""
    opener = gzip.open if file.compression == "gzip" else open
    with opener(file.path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            yield chunk


def write_with_lf_line_ends(file: LandingFile, target: Path) -> Path:
    """Write the file's (decompressed) text to ``target`` with every CRLF turned into LF.
    Line numbers do not change."""
    carry = b""
    with open(target, "wb") as out:
        for chunk in text_chunks(file):
            data = carry + chunk
            carry = b"\r" if data.endswith(b"\r") else b""
            if carry:
                data = data[:-1]
            out.write(data.replace(b"\r\n", b"\n"))
        out.write(carry)
    return target


class _LineCounter:
    """Counts b"\\n" in a byte stream, decompressing (multi-member) gzip on the way."""

    def __init__(self, gzip: bool) -> None:
        self.gzip = gzip
        self.decoder = zlib.decompressobj(wbits=31)
        self.in_member = False  # the current gzip member has started but not ended
        self.newlines = 0
        self.crlf = 0
        self.last = b""
        self.broken = False

    def _count(self, data: bytes) -> None:
        if data:
            self.newlines += data.count(b"\n")
            self.crlf += data.count(b"\r\n") + (self.last == b"\r" and data[:1] == b"\n")
            self.last = data[-1:]

    def feed(self, chunk: bytes) -> None:
        if self.broken:
            return
        if not self.gzip:
            self._count(chunk)
            return
        data = chunk
        try:
            while data:
                self.in_member = True
                self._count(self.decoder.decompress(data))
                data = b""
                if self.decoder.eof:
                    # The next gzip member, if any, starts in unused_data.
                    data = self.decoder.unused_data + data
                    self.decoder = zlib.decompressobj(wbits=31)
                    self.in_member = False
        except zlib.error:
            self.broken = True

    def result(self) -> int | None:
        if self.broken or self.in_member:  # corrupt or truncated gzip
            return None
        return self.newlines + (1 if self.last not in (b"", b"\n") else 0)
