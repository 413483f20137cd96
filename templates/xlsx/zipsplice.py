"""A minimal zip writer for splicing a few members into an otherwise unchanged .xlsx.

Why not ``zipfile``: it can only write a member by compressing it again, and recompressing the
whole workbook (styles, theme, comments, instruction, lists …) is most of openpyxl's cost per
template. Here every unchanged member's compressed bytes are copied as they are, and a changed
member's deflate stream is assembled from pieces compressed once (see ``DeflatePieces``), so a
template costs little more than the bytes it is made of.

Only what .xlsx needs: no zip64 (a template is far below 4 GB), no encryption, no comments.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

_LOCAL = struct.Struct("<4sHHHHHLLLHH")
_CENTRAL = struct.Struct("<4sBBBBHHHHLLLHHHHHLL")
_END = struct.Struct("<4sHHHHLLH")
_LOCAL_SIG, _CENTRAL_SIG, _END_SIG = b"PK\x03\x04", b"PK\x01\x02", b"PK\x05\x06"
_VERSION = 20  # 2.0: deflate
_DEFLATED = zipfile.ZIP_DEFLATED
_STORED_MAX = 0xFFFF  # a stored deflate block holds at most 65,535 bytes
_STORED_HEADER = struct.Struct("<BHH")


@dataclass(frozen=True)
class Member:
    """One zip member as stored: its compressed bytes and what the headers say about them."""

    name: str
    method: int
    crc: int
    compressed: bytes
    size: int  # uncompressed
    time: int  # DOS time and date, as in the headers
    date: int
    external_attr: int = 0
    create_system: int = 0  # what the attributes mean: 0 MS-DOS, 3 Unix (zipfile's choice)

    def with_content(self, compressed: bytes, crc: int, size: int) -> Member:
        return Member(self.name, _DEFLATED, crc, compressed, size, self.time, self.date,
                      self.external_attr, self.create_system)


def read_members(data: bytes) -> list[Member]:
    """Every member of a zip, in order, with its compressed bytes untouched."""
    members: list[Member] = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            offset = info.header_offset
            fields = _LOCAL.unpack_from(data, offset)
            start = offset + _LOCAL.size + fields[9] + fields[10]
            dos_time = (info.date_time[3] << 11) | (info.date_time[4] << 5) | (info.date_time[5] // 2)
            dos_date = ((info.date_time[0] - 1980) << 9) | (info.date_time[1] << 5) | info.date_time[2]
            members.append(Member(info.filename, info.compress_type, info.CRC,
                                  data[start:start + info.compress_size], info.file_size,
                                  dos_time, dos_date, info.external_attr, info.create_system))
    return members


def _stored_blocks(raw: bytes) -> bytes:
    """``raw`` as non-final stored deflate blocks (the stream is byte-aligned between pieces)."""
    if len(raw) <= _STORED_MAX:
        return _STORED_HEADER.pack(0, len(raw), len(raw) ^ 0xFFFF) + raw
    return b"".join(_stored_blocks(raw[i:i + _STORED_MAX]) for i in range(0, len(raw), _STORED_MAX))


# A final stored block of no bytes: what ends a stream of non-final ones.
_FINAL_EMPTY = _STORED_HEADER.pack(1, 0, 0xFFFF)


def stored(data: bytes) -> tuple[bytes, int, int]:
    """(deflate stream, CRC-32, size) of ``data`` kept as it is, in stored blocks: for a part of
    a few kilobytes written once, compressing costs more time than its bytes are worth."""
    return _stored_blocks(data) + _FINAL_EMPTY, zlib.crc32(data), len(data)


class CrcAppend:
    """Continue a CRC-32 over a fixed ``piece`` without reading it again.

    Continuing a CRC over n bytes is affine in the starting value: crc32(piece, start) =
    L(start) ^ crc32(piece, 0), with L linear over GF(2) and the same for any n bytes. L is
    taken apart into four byte tables once, so each use costs four look-ups instead of a pass
    over the piece (a third of the fast path's time went into re-reading fixed text).
    """

    def __init__(self, piece: bytes) -> None:
        self.base = zlib.crc32(piece, 0)
        basis = [zlib.crc32(piece, 1 << bit) ^ self.base for bit in range(32)]
        tables: list[list[int]] = []
        for k in range(4):
            table = [0] * 256
            for b in range(1, 256):
                low = b & -b
                table[b] = table[b ^ low] ^ basis[8 * k + low.bit_length() - 1]
            tables.append(table)
        self.t0, self.t1, self.t2, self.t3 = tables

    def __call__(self, crc: int) -> int:
        return (self.t0[crc & 0xFF] ^ self.t1[(crc >> 8) & 0xFF] ^ self.t2[(crc >> 16) & 0xFF]
                ^ self.t3[crc >> 24] ^ self.base)


class DeflatePieces:
    """A deflate stream assembled per use from fixed text compressed once and small variable
    text stored as is.

    Each fixed piece is compressed by a fresh compressor (so it refers to nothing before it) and
    sync-flushed (so it ends on a byte boundary, not final); the last one is finished. Variable
    pieces go in between as stored blocks. The concatenation is one valid deflate stream.
    """

    def __init__(self, fixed: Sequence[bytes], level: int = 9) -> None:
        if not fixed:
            raise ValueError("at least one fixed piece")
        self.fixed = tuple(fixed)
        packed = []
        for i, piece in enumerate(fixed):
            compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
            mode = zlib.Z_FINISH if i == len(fixed) - 1 else zlib.Z_SYNC_FLUSH
            packed.append(compressor.compress(piece) + compressor.flush(mode))
        self.packed = tuple(packed)
        self.fixed_size = sum(len(p) for p in fixed)
        self._first_crc = zlib.crc32(fixed[0])
        self._appends = tuple(CrcAppend(piece) for piece in fixed[1:])

    def assemble(self, variable: Sequence[bytes]) -> tuple[bytes, int, int]:
        """(deflate stream, CRC-32, uncompressed size) of fixed[0] variable[0] fixed[1] … fixed[n]."""
        if len(variable) != len(self.fixed) - 1:
            raise ValueError(f"expected {len(self.fixed) - 1} variable pieces, got {len(variable)}")
        parts = [self.packed[0]]
        crc = self._first_crc
        size = self.fixed_size
        for piece, append, packed in zip(variable, self._appends, self.packed[1:], strict=True):
            if piece:
                parts.append(_stored_blocks(piece))
                crc = zlib.crc32(piece, crc)
                size += len(piece)
            parts.append(packed)
            crc = append(crc)
        return b"".join(parts), crc, size


class ZipSkeleton:
    """A zip whose members are all fixed but a few named ones, written many times over.

    The fixed members go first, so their local blocks and central directory entries are one
    precomputed run of bytes each; the variable members follow. Readers of .xlsx find members
    through the central directory, so the order in the file is free.
    """

    def __init__(self, members: Sequence[Member], variable: Collection[str]) -> None:
        unknown = set(variable) - {m.name for m in members}
        if unknown:
            raise KeyError(f"not in the base workbook: {sorted(unknown)}")
        fixed = [m for m in members if m.name not in variable]
        self.variable = tuple(m for m in members if m.name in variable)
        blocks, central, offset = [], [], 0
        for member in fixed:
            block = _local_block(member)
            blocks.append(block)
            central.append(_central(member, offset))
            offset += len(block)
        self._fixed_blocks = b"".join(blocks)
        self._fixed_central = b"".join(central)
        self._base_blocks = {m.name: _local_block(m) for m in self.variable}
        self.count = len(members)

    def write(self, replaced: Mapping[str, tuple[bytes, int, int]]) -> bytes:
        """The zip with ``replaced`` members (name → deflate stream, CRC-32, size) swapped in."""
        parts = [self._fixed_blocks]
        central = [self._fixed_central]
        offset = len(self._fixed_blocks)
        for member in self.variable:
            content = replaced.get(member.name)
            if content is None:
                block = self._base_blocks[member.name]
            else:
                member = member.with_content(*content)
                block = _local_block(member)
            parts.append(block)
            central.append(_central(member, offset))
            offset += len(block)
        directory = b"".join(central)
        parts.append(directory)
        parts.append(_END.pack(_END_SIG, 0, 0, self.count, self.count, len(directory), offset, 0))
        return b"".join(parts)


def _local_block(m: Member) -> bytes:
    name = m.name.encode("utf-8")
    flags = 0 if name.isascii() else 0x800  # bit 11: the name is UTF-8
    header = _LOCAL.pack(_LOCAL_SIG, _VERSION, flags, m.method, m.time, m.date, m.crc,
                         len(m.compressed), m.size, len(name), 0)
    return header + name + m.compressed


def _central(m: Member, offset: int) -> bytes:
    name = m.name.encode("utf-8")
    flags = 0 if name.isascii() else 0x800
    return _CENTRAL.pack(_CENTRAL_SIG, _VERSION, m.create_system, _VERSION, 0, flags, m.method, m.time,
                         m.date, m.crc, len(m.compressed), m.size, len(name), 0, 0, 0, 0,
                         m.external_attr, offset) + name
