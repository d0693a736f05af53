"""Read a Zendesk app package, from a folder or a zip, into memory with hard bounds.

Both forms become one :class:`AppPackage`: a map of package-relative paths to bytes, plus what the
rules need to know about the container itself (symlinks, unsafe entry names, the zip's size). The
reader never follows a symlink and never extracts anything to disk, so a hostile zip (absolute
names, ``..``, a zip bomb) is reported instead of acted on.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

MAX_FILES = 500
MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_TOTAL_BYTES = 20 * 1024 * 1024


class PackageReadError(Exception):
    """The path is neither a readable folder nor a readable zip, or it is too large to read."""


@dataclass
class AppPackage:
    """An app package held in memory.

    Parameters
    ----------
    files
        Package-relative POSIX path to the file's bytes (symlinks and unsafe names excluded).
    symlinks
        Paths that are symbolic links (not read).
    unsafe_names
        Entry names that are absolute, contain ``..`` or backslashes, or are otherwise unusable.
    zip_bytes
        The zip's size on disk, or None for a folder.
    source
        Where the package was read from, for messages.

    Examples
    --------
    >>> pkg = AppPackage(files={"manifest.json": b"{}"})
    >>> pkg.has("manifest.json"), pkg.has("assets/logo.png")
    (True, False)
    """

    files: dict[str, bytes]
    symlinks: list[str] = field(default_factory=list)
    unsafe_names: list[str] = field(default_factory=list)
    zip_bytes: int | None = None
    source: str = "<memory>"

    def has(self, path: str) -> bool:
        return path in self.files

    def text(self, path: str) -> str:
        """The file decoded as UTF-8 (a BOM is accepted); raises UnicodeDecodeError otherwise."""
        return self.files[path].decode("utf-8-sig")


def safe_name(name: str) -> str | None:
    """``name`` as a clean relative POSIX path, or None when it could escape the package.

    >>> safe_name("assets/logo.png"), safe_name("../etc/passwd"), safe_name("/abs"), safe_name("a\\\\b")
    ('assets/logo.png', None, None, None)
    """
    if not name or "\\" in name or "\x00" in name or name.startswith("/"):
        return None
    parts = PurePosixPath(name).parts
    if any(part in ("..", "") for part in parts) or ":" in parts[0]:
        return None
    return "/".join(part for part in parts if part != ".")


def _check_budget(count: int, total: int, name: str, size: int) -> None:
    if count > MAX_FILES:
        raise PackageReadError(f"more than {MAX_FILES} files in the package")
    if size > MAX_FILE_BYTES:
        raise PackageReadError(f"{name} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    if total > MAX_TOTAL_BYTES:
        raise PackageReadError(f"the package holds more than {MAX_TOTAL_BYTES // (1024 * 1024)} MB")


def read_folder(root: Path) -> AppPackage:
    """Read every file under ``root``; symlinks are listed, not followed."""
    pkg = AppPackage(files={}, source=str(root))
    total = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink():
            pkg.symlinks.append(rel)
            continue
        if not path.is_file():
            continue
        size = path.stat().st_size
        total += size
        _check_budget(len(pkg.files) + 1, total, rel, size)
        pkg.files[rel] = path.read_bytes()
    return pkg


def read_zip(path: Path) -> AppPackage:
    """Read a zip's entries by their declared and their actual sizes, whichever is reached first."""
    pkg = AppPackage(files={}, zip_bytes=path.stat().st_size, source=str(path))
    total = 0
    try:
        with zipfile.ZipFile(path) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    pkg.symlinks.append(info.filename)
                    continue
                name = safe_name(info.filename)
                if name is None:
                    pkg.unsafe_names.append(info.filename)
                    continue
                total += info.file_size
                _check_budget(len(pkg.files) + 1, total, name, info.file_size)
                with archive.open(info) as handle:
                    data = handle.read(MAX_FILE_BYTES + 1)
                _check_budget(len(pkg.files) + 1, total, name, len(data))
                if name in pkg.files:
                    pkg.unsafe_names.append(info.filename)
                pkg.files[name] = data
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, RuntimeError, OSError) as e:
        raise PackageReadError(f"{path.name} is not a readable zip ({type(e).__name__})") from None
    return pkg


def read_package(path: Path) -> AppPackage:
    """Read ``path`` as a folder or, otherwise, as a zip."""
    if path.is_dir():
        return read_folder(path)
    if path.is_file():
        return read_zip(path)
    raise PackageReadError(f"{path} is neither a folder nor a zip file")
