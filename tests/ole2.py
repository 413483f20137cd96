"""OLE2 compound files for the hostile corpus: an old .xls and a password-encrypted .xlsx.

No installed library writes either (msoffcrypto-tool is not installed; olefile only reads), so
this writes a compound file (MS-CFB, version 3, 512-byte sectors, small streams in the mini
stream) and encrypts a workbook the way Office does with a password (MS-OFFCRYPTO agile
encryption: AES-256-CBC, SHA-512, 100,000 spins, with the data-integrity HMAC). Office also
writes a ``\\x06DataSpaces`` storage beside the two streams; it carries no key material and is
left out. ``decrypt_agile`` reverses the encryption, so a test can show the package is real.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import struct
from xml.etree import ElementTree

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
SECTOR, MINI, CUTOFF = 512, 64, 4096
FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def _pad(data: bytes, size: int) -> bytes:
    return data + b"\0" * (-len(data) % size)


def _sort_key(name: str) -> tuple[int, str]:
    # MS-CFB orders siblings by name length first, then by upper-cased name.
    return len(name), name.upper()


def _entry(name: str, kind: int, start: int, size: int, left: int = NOSTREAM, right: int = NOSTREAM,
           child: int = NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\0\0"
    return (raw.ljust(64, b"\0") + struct.pack("<HBB3I", len(raw), kind, 1, left, right, child)
            + b"\0" * 36 + struct.pack("<IQ", start, size))


def _tree(ids: list[int]) -> tuple[int, dict[int, tuple[int, int]]]:
    """A balanced binary search tree over ``ids`` (already in sibling order): its root and each
    node's (left, right). Every node black: readers do not check red-black balance."""
    links: dict[int, tuple[int, int]] = {}

    def build(lo: int, hi: int) -> int:
        if lo >= hi:
            return NOSTREAM
        mid = (lo + hi) // 2
        links[ids[mid]] = (build(lo, mid), build(mid + 1, hi))
        return ids[mid]

    return build(0, len(ids)), links


def compound_file(streams: dict[str, bytes]) -> bytes:
    """A compound file holding ``streams`` in its root storage."""
    names = sorted(streams, key=_sort_key)
    big = [n for n in names if len(streams[n]) >= CUTOFF]
    small = [n for n in names if len(streams[n]) < CUTOFF]
    # The mini stream: small streams in 64-byte mini sectors, chained by the mini FAT.
    mini_data, mini_fat, mini_start = b"", [], {}
    for n in small:
        count = -(-len(streams[n]) // MINI) or 0
        mini_start[n] = len(mini_fat) if count else END
        mini_fat += [len(mini_fat) + i + 1 for i in range(count - 1)] + ([END] if count else [])
        mini_data += _pad(streams[n], MINI)
    body: list[tuple[str, bytes]] = [(n, _pad(streams[n], SECTOR)) for n in big]
    body.append(("<mini stream>", _pad(mini_data, SECTOR)))
    body.append(("<mini fat>", _pad(b"".join(struct.pack("<I", v) for v in mini_fat), SECTOR)))
    entries = 1 + len(names)
    body.append(("<directory>", b""))  # filled below; its size is known now
    dir_sectors = -(-entries * 128 // SECTOR)
    counts = [len(d) // SECTOR for _, d in body[:-1]] + [dir_sectors]
    data_sectors = sum(counts)
    fat_sectors = 1
    while fat_sectors * (SECTOR // 4) < fat_sectors + data_sectors:
        fat_sectors += 1
    if fat_sectors > 109:
        raise ValueError("too large for a header-only DIFAT")
    starts: dict[str, int] = {}
    fat = [FATSECT] * fat_sectors
    for (label, _), count in zip(body, counts, strict=True):
        starts[label] = len(fat) if count else END
        fat += [len(fat) + i + 1 for i in range(count - 1)] + ([END] if count else [])
    fat += [FREE] * (fat_sectors * (SECTOR // 4) - len(fat))
    ids = list(range(1, entries))
    root_child, links = _tree(ids)
    directory = _entry("Root Entry", 5, starts["<mini stream>"] if mini_data else END, len(mini_data),
                       child=root_child)
    for i, n in zip(ids, names, strict=True):
        start = starts[n] if n in starts else mini_start[n]
        directory += _entry(n, 2, start, len(streams[n]), *links[i])
    directory = _pad(directory, SECTOR)
    header = (MAGIC + b"\0" * 16 + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\0" * 6
              + struct.pack("<IIIIIIIII", 0, fat_sectors, starts["<directory>"], 0, CUTOFF,
                            starts["<mini fat>"] if mini_fat else END, len(mini_fat) and counts[-2],
                            END, 0)
              + b"".join(struct.pack("<I", i) for i in range(fat_sectors))
              + struct.pack("<I", FREE) * (109 - fat_sectors))
    fat_bytes = b"".join(struct.pack("<I", v) for v in fat)
    parts = [d if label != "<directory>" else directory for label, d in body]
    return header + fat_bytes + b"".join(parts)


# -- an old .xls: BIFF8 records in a "Workbook" stream ------------------------------------------

def xls_workbook() -> bytes:
    """A compound file whose Workbook stream starts like Excel 97–2003's: BOF (BIFF8) … EOF."""
    bof = struct.pack("<HH", 0x0809, 16) + struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x0206)
    eof = struct.pack("<HH", 0x000A, 0)
    return compound_file({"Workbook": _pad(bof + eof, SECTOR * 9)})


# -- agile encryption (MS-OFFCRYPTO 2.3.4.10–2.3.4.15) ------------------------------------------

_VERIFIER_INPUT = bytes.fromhex("fea7d2763b4b9e79")
_VERIFIER_HASH = bytes.fromhex("d7aa0f6d3061344e")
_KEY_VALUE = bytes.fromhex("146e0be7abacd0d6")
_HMAC_KEY = bytes.fromhex("5fb2ad010cb9e1f6")
_HMAC_VALUE = bytes.fromhex("a0677f02b22c8433")
_SPIN = 100_000
_SEGMENT = 4096
_NS = "http://schemas.microsoft.com/office/2006/encryption"
_P_NS = "http://schemas.microsoft.com/office/2006/keyEncryptor/password"


def _aes(key: bytes, iv: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    cipher = Cipher(algorithms.AES(key), modes.CBC(iv))
    op = cipher.decryptor() if decrypt else cipher.encryptor()
    return op.update(_pad(data, 16)) + op.finalize()


def _sha(*parts: bytes) -> bytes:
    return hashlib.sha512(b"".join(parts)).digest()


def _password_hash(password: str, salt: bytes) -> bytes:
    h = _sha(salt, password.encode("utf-16-le"))
    for i in range(_SPIN):
        h = _sha(struct.pack("<I", i), h)
    return h


def _segments(key: bytes, salt: bytes, data: bytes, *, decrypt: bool = False) -> bytes:
    out = []
    for i, start in enumerate(range(0, len(data), _SEGMENT)):
        iv = _sha(salt, struct.pack("<I", i))[:16]
        out.append(_aes(key, iv, data[start:start + _SEGMENT], decrypt=decrypt))
    return b"".join(out)


def encrypt_agile(package: bytes, password: str) -> tuple[bytes, bytes]:
    """(EncryptionInfo, EncryptedPackage) streams of ``package`` under ``password``."""
    key_salt, password_salt = os.urandom(16), os.urandom(16)
    secret_key, verifier, hmac_key = os.urandom(32), os.urandom(16), os.urandom(64)
    encrypted = struct.pack("<Q", len(package)) + _segments(secret_key, key_salt, package)
    h = _password_hash(password, password_salt)

    def wrap(block_key: bytes, value: bytes) -> str:
        return base64.b64encode(_aes(_sha(h, block_key)[:32], password_salt, value)).decode()

    hmac_value = hmac.new(hmac_key, encrypted, hashlib.sha512).digest()
    integrity_key = _aes(secret_key, _sha(key_salt, _HMAC_KEY)[:16], hmac_key)
    integrity_value = _aes(secret_key, _sha(key_salt, _HMAC_VALUE)[:16], hmac_value)
    common = ('saltSize="16" blockSize="16" keyBits="256" hashSize="64" cipherAlgorithm="AES" '
              'cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512"')
    b64 = base64.b64encode
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        f'<encryption xmlns="{_NS}" xmlns:p="{_P_NS}">'
        f'<keyData {common} saltValue="{b64(key_salt).decode()}"/>'
        f'<dataIntegrity encryptedHmacKey="{b64(integrity_key).decode()}" '
        f'encryptedHmacValue="{b64(integrity_value).decode()}"/>'
        f'<keyEncryptors><keyEncryptor uri="{_P_NS}"><p:encryptedKey spinCount="{_SPIN}" {common} '
        f'saltValue="{b64(password_salt).decode()}" '
        f'encryptedVerifierHashInput="{wrap(_VERIFIER_INPUT, verifier)}" '
        f'encryptedVerifierHashValue="{wrap(_VERIFIER_HASH, _sha(verifier))}" '
        f'encryptedKeyValue="{wrap(_KEY_VALUE, secret_key)}"/></keyEncryptor></keyEncryptors>'
        '</encryption>'
    )
    return struct.pack("<HHI", 4, 4, 0x40) + xml.encode(), encrypted


def encrypted_workbook(package: bytes, password: str) -> bytes:
    info, encrypted = encrypt_agile(package, password)
    return compound_file({"EncryptionInfo": info, "EncryptedPackage": encrypted})


def decrypt_agile(info: bytes, encrypted: bytes, password: str) -> bytes:
    """The package back from the two streams; raises ValueError for a wrong password."""
    root = ElementTree.fromstring(info[8:])
    key_data = root.find(f"{{{_NS}}}keyData")
    key = root.find(f".//{{{_P_NS}}}encryptedKey")
    if key_data is None or key is None:
        raise ValueError("not an agile EncryptionInfo")
    salt = base64.b64decode(key.get("saltValue", ""))
    h = _password_hash(password, salt)

    def unwrap(block_key: bytes, attr: str) -> bytes:
        return _aes(_sha(h, block_key)[:32], salt, base64.b64decode(key.get(attr, "")), decrypt=True)

    if (unwrap(_VERIFIER_HASH, "encryptedVerifierHashValue")
            != _sha(unwrap(_VERIFIER_INPUT, "encryptedVerifierHashInput"))):
        raise ValueError("wrong password")
    secret_key = unwrap(_KEY_VALUE, "encryptedKeyValue")[:32]
    size = struct.unpack("<Q", encrypted[:8])[0]
    return _segments(secret_key, base64.b64decode(key_data.get("saltValue", "")), encrypted[8:], decrypt=True)[:size]


def read_stream(data: bytes, name: str) -> bytes:
    """One stream of a compound file written by ``compound_file`` (root storage only)."""
    if not data.startswith(MAGIC):
        raise ValueError("not a compound file")
    fat_count, dir_start = struct.unpack("<II", data[44:52])
    mini_fat_start = struct.unpack("<I", data[60:64])[0]
    fat_ids = struct.unpack("<109I", data[76:512])[:fat_count]
    sector = lambda i: data[SECTOR * (i + 1):SECTOR * (i + 2)]  # noqa: E731
    fat = [v for i in fat_ids for v in struct.unpack("<128I", sector(i))]

    def chain(start: int, table: list[int]) -> list[int]:
        out = []
        while start not in (END, FREE):
            out.append(start)
            start = table[start]
        return out

    directory = b"".join(sector(i) for i in chain(dir_start, fat))
    entries = [directory[i:i + 128] for i in range(0, len(directory), 128)]
    root_start, root_size = struct.unpack("<IQ", entries[0][116:128])
    mini_stream = b"".join(sector(i) for i in chain(root_start, fat))[:root_size]
    mini_fat = [v for i in chain(mini_fat_start, fat) for v in struct.unpack("<128I", sector(i))]
    for e in entries[1:]:
        length = struct.unpack("<H", e[64:66])[0]
        if e[:length - 2].decode("utf-16-le") != name:
            continue
        start, size = struct.unpack("<IQ", e[116:128])
        if size < CUTOFF:
            return b"".join(mini_stream[MINI * i:MINI * (i + 1)] for i in chain(start, mini_fat))[:size]
        return b"".join(sector(i) for i in chain(start, fat))[:size]
    raise KeyError(name)
