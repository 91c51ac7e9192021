"""Files by name from a zip held in memory or from a folder, each read with a bound: nothing is extracted
to disk, and nothing is unpacked before the archive's directory has been checked.

A zip is checked in three steps: its entries are counted from the raw central directory (before
``zipfile`` makes an object per entry); every name is refused if it climbs out of its folder; the
declared sizes are summed and each entry's packing ratio checked. Reading then stops at the declared
size (a lying header unpacks no further than it declared, and fails its checksum).
"""

from __future__ import annotations

import io
import os
import re
import struct
import zipfile
from pathlib import Path

from .data import DataError
from .dataset_bounds import (MAX_ENTRIES, MAX_ENTRY_RATIO, MAX_UNPACKED_BYTES, RATIO_FROM, check_size)

END_RECORD, ZIP64_LOCATOR, ZIP64_RECORD, DIRECTORY_ENTRY = b"PK\x05\x06", b"PK\x06\x07", b"PK\x06\x06", b"PK\x01\x02"
SKIPPED_PARTS = ("__MACOSX",)  # folders a zip tool adds, not data


def hidden(name: str) -> bool:
    """A file a system or a zip tool adds (``.DS_Store``, ``__MACOSX/``), not part of the data."""
    return any(part.startswith(".") or part in SKIPPED_PARTS for part in name.split("/"))


class Archive:
    """Files by name (``/`` separated), with their declared sizes; ``read`` is bounded by the declared
    size and by what the whole archive may still unpack."""

    def __init__(self, sizes: dict[str, int], folders: set[str]):
        self.sizes = sizes  # file name -> declared size in bytes
        self.folders = folders  # every folder named, including empty ones
        self.budget = MAX_UNPACKED_BYTES

    @property
    def names(self) -> list[str]:
        return list(self.sizes)

    def read(self, name: str) -> bytes:
        size = self.charge(name)
        data = self._read(name, size + 1)  # one byte more than declared: a longer entry is caught
        if len(data) != size:
            raise DataError(f"{name}: {len(data):,} bytes where the archive declared {size:,}")
        return data

    def charge(self, name: str) -> int:
        """The entry's declared size, taken from what the archive may still unpack (refused past it)."""
        size = self.sizes[name]
        if size > self.budget:
            raise DataError(f"{name}: the archive unpacks to more than {MAX_UNPACKED_BYTES:,} bytes")
        self.budget -= size
        return size

    def _read(self, name: str, limit: int) -> bytes:
        raise NotImplementedError


class ZipArchive(Archive):
    def __init__(self, blob: bytes):
        count_entries(blob)
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(blob))
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError) as error:
            raise DataError(f"not a readable zip file ({error})") from None
        for info in infos:
            check_name(info.filename)
        self.infos = {info.filename: info for info in infos if not info.is_dir()}
        check_declared(self.infos.values())
        super().__init__({name: info.file_size for name, info in self.infos.items()}, folders_of(infos))

    def _read(self, name: str, limit: int) -> bytes:
        try:
            with self.zip.open(self.infos[name]) as handle:
                return handle.read(limit)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError, OSError, NotImplementedError,
                RuntimeError) as error:  # a bad checksum, a truncated entry, an unknown method, a password
            raise DataError(f"{name}: damaged, or unpacks to more than it declares ({error})") from None


class FolderArchive(Archive):
    """The files under a folder (symbolic links not followed), counted and sized before any is read."""

    def __init__(self, root: Path):
        self.root = root
        sizes, folders, total = {}, set(), 0
        for folder, subfolders, files in os.walk(root):
            relative = Path(folder).relative_to(root).as_posix()
            folders.add("" if relative == "." else relative + "/")
            for file in files:
                path = Path(folder, file)
                if path.is_symlink() or not path.is_file():
                    continue
                name = path.relative_to(root).as_posix()
                sizes[name] = path.stat().st_size
                total += sizes[name]
                if len(sizes) > MAX_ENTRIES:
                    raise DataError(f"{root.name}: more than {MAX_ENTRIES:,} files, more than a data set holds")
                check_size(total, MAX_UNPACKED_BYTES, f"the folder {root.name}")
        super().__init__(sizes, folders)

    def _read(self, name: str, limit: int) -> bytes:
        with open(self.root / name, "rb") as handle:
            return handle.read(limit)


def count_entries(blob: bytes) -> int:
    """The number of entries in the zip's central directory, counted from its raw records (a directory
    can hold more entries than its end record says); refused past ``MAX_ENTRIES``."""
    end = blob.rfind(END_RECORD, max(0, len(blob) - 22 - 65_535))
    if end < 0 or len(blob) < end + 22:
        raise DataError("not a readable zip file (no end-of-archive record)")
    directory_size = int.from_bytes(blob[end + 12:end + 16], "little")
    directory_end = end
    if blob[end - 20:end - 16] == ZIP64_LOCATOR and blob[end - 76:end - 72] == ZIP64_RECORD:
        directory_end = end - 76  # zip64 (over 65,535 entries): its own end record precedes the locator
        directory_size = int.from_bytes(blob[directory_end + 40:directory_end + 48], "little")
    position, count = directory_end - directory_size, 0
    while 0 <= position < directory_end and blob[position:position + 4] == DIRECTORY_ENTRY:
        name, extra, comment = struct.unpack_from("<HHH", blob, position + 28)
        position += 46 + name + extra + comment
        count += 1
        if count > MAX_ENTRIES:
            raise DataError(f"the zip holds more than {MAX_ENTRIES:,} files, more than a data set holds")
    return count


def check_name(name: str) -> None:
    """Refuse an entry whose name is absolute or climbs out of its folder with ``..``."""
    plain = name.replace("\\", "/")
    if plain.startswith("/") or re.match(r"[A-Za-z]:", plain) or ".." in plain.split("/"):
        raise DataError(f"the zip entry {name[:80]!r} points outside its folder (an absolute path or '..')")


def check_declared(infos) -> None:
    """Refuse a zip whose entries declare more than ``MAX_UNPACKED_BYTES`` together, or an entry that
    packs better than ``MAX_ENTRY_RATIO`` to one (a zip bomb), before anything is unpacked."""
    total = 0
    for info in infos:
        total += info.file_size
        if total > MAX_UNPACKED_BYTES:
            raise DataError(f"the zip declares more than {MAX_UNPACKED_BYTES:,} bytes unpacked "
                            f"({info.filename[:80]!r} alone {info.file_size:,}): refused as a possible zip bomb")
        if info.file_size >= RATIO_FROM and info.file_size > MAX_ENTRY_RATIO * max(1, info.compress_size):
            raise DataError(f"{info.filename[:80]!r} packs {info.file_size:,} bytes into {info.compress_size:,}, "
                            f"more than {MAX_ENTRY_RATIO} to 1: refused as a possible zip bomb")


def folders_of(infos) -> set[str]:
    """Every folder the entries name ("a/b/" for "a/b/c.png"), and the empty folders listed."""
    folders = {""}
    for info in infos:
        parts = info.filename.rstrip("/").split("/")
        folders.update("/".join(parts[:k]) + "/" for k in range(1, len(parts) + (info.is_dir())))
    return folders
