"""A PEP 517 build backend for warmpool-runtime that uses only the standard library.

The package is pure Python with no dependencies, so a wheel is a zip of ``src/warmpool`` plus the
three ``.dist-info`` files; setuptools would need the ``wheel`` package (or a recent setuptools)
from PyPI to produce the same thing. Archives are reproducible: fixed timestamps and sorted names,
so building twice gives the same bytes.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import os
import re
import tarfile
import zipfile
from pathlib import Path
from typing import Dict, List, Optional, Tuple

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "warmpool"
_REQUIRED = ("name", "version", "description", "requires-python", "license")
_EPOCH = 315532800  # 1980-01-01, the earliest time a zip entry can hold


def _project() -> Dict[str, str]:
    """The flat string entries of [project] in pyproject.toml (tomllib is only in Python >= 3.11)."""
    fields: Dict[str, str] = {}
    table = None
    for line in (ROOT / "pyproject.toml").read_text().splitlines():
        header = re.fullmatch(r"\s*\[([^\]]+)\]\s*", line)
        if header:
            table = header.group(1).strip()
            continue
        entry = re.fullmatch(r'\s*([A-Za-z0-9_-]+)\s*=\s*"([^"]*)"\s*', line)
        if table == "project" and entry:
            fields[entry.group(1)] = entry.group(2)
    missing = [key for key in _REQUIRED if key not in fields]
    if missing:
        raise ValueError(f"pyproject.toml [project] lacks {', '.join(missing)}")
    return fields


def _distribution(project: Dict[str, str]) -> str:
    # Wheel and sdist file names use the normalised name: runs of -_. become one underscore.
    return re.sub(r"[-_.]+", "_", project["name"]).lower() + "-" + project["version"]


def _metadata(project: Dict[str, str]) -> str:
    return (
        "Metadata-Version: 2.1\n"
        f"Name: {project['name']}\n"
        f"Version: {project['version']}\n"
        f"Summary: {project['description']}\n"
        f"License: {project['license']}\n"
        f"Requires-Python: {project['requires-python']}\n"
    )


def _sources() -> List[Tuple[str, bytes]]:
    """(path inside the wheel, content) of every module of the package, in a stable order."""
    base = ROOT / "src"
    return [
        (path.relative_to(base).as_posix(), path.read_bytes())
        for path in sorted((base / PACKAGE).rglob("*.py"))
    ]


def _record_line(name: str, content: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(content).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(content)}\n"


def _zip_entry(archive: zipfile.ZipFile, name: str, content: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, content)


def get_requires_for_build_wheel(config_settings: Optional[dict] = None) -> List[str]:
    return []


def get_requires_for_build_sdist(config_settings: Optional[dict] = None) -> List[str]:
    return []


def build_wheel(wheel_directory: str, config_settings: Optional[dict] = None, metadata_directory: Optional[str] = None) -> str:
    project = _project()
    distribution = _distribution(project)
    dist_info = f"{distribution}.dist-info"
    files = _sources() + [
        (f"{dist_info}/METADATA", _metadata(project).encode()),
        (f"{dist_info}/WHEEL", b"Wheel-Version: 1.0\nGenerator: warmpool_build\nRoot-Is-Purelib: true\nTag: py3-none-any\n"),
    ]
    record = "".join(_record_line(name, content) for name, content in files) + f"{dist_info}/RECORD,,\n"
    filename = f"{distribution}-py3-none-any.whl"
    os.makedirs(wheel_directory, exist_ok=True)
    with zipfile.ZipFile(os.path.join(wheel_directory, filename), "w") as archive:
        for name, content in files + [(f"{dist_info}/RECORD", record.encode())]:
            _zip_entry(archive, name, content)
    return filename


def build_sdist(sdist_directory: str, config_settings: Optional[dict] = None) -> str:
    project = _project()
    distribution = _distribution(project)
    files = [("PKG-INFO", _metadata(project).encode())]
    for relative in ("pyproject.toml", "backend/warmpool_build.py"):
        files.append((relative, (ROOT / relative).read_bytes()))
    files += [(f"src/{name}", content) for name, content in _sources()]
    filename = f"{distribution}.tar.gz"
    os.makedirs(sdist_directory, exist_ok=True)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, content in sorted(files):
            info = tarfile.TarInfo(f"{distribution}/{name}")
            info.size = len(content)
            info.mtime = _EPOCH
            info.mode = 0o644
            archive.addfile(info, io.BytesIO(content))
    # Compressed apart from tarfile, whose gzip header would carry the build time.
    Path(sdist_directory, filename).write_bytes(gzip.compress(buffer.getvalue(), compresslevel=9, mtime=0))
    return filename
