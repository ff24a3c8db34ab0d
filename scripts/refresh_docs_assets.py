"""Refresh sqlapi/docs_assets/: the Swagger UI and ReDoc files sqlapi serves under /assets/.

    python scripts/refresh_docs_assets.py     # writes sqlapi/docs_assets/

Downloads the two npm tarballs at the versions pinned below from the npm registry,
checks each against the registry's sha512 integrity, and copies out only the files
sqlapi serves, their licences and the third-party notices their bundles point to.
VERSIONS.txt records where everything came from. Standard library only. Same pins,
same bytes: nothing reads the clock, and files the pins no longer name are removed.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

SWAGGER_UI_VERSION = "5.35.0"  # npm swagger-ui-dist
REDOC_VERSION = "2.5.4"  # npm redoc, the 2.x line (quart-schema's page: <redoc spec-url>)

REGISTRY = "https://registry.npmjs.org"
TARGET = Path(__file__).resolve().parent.parent / "sqlapi" / "docs_assets"
TIMEOUT = 120

# A webpack bundle's first line names the file holding its bundled libraries' licences.
NOTICE_REF = re.compile(rb"For license information please see ([A-Za-z0-9_.-]+\.LICENSE\.txt)")


@dataclass(frozen=True)
class Package:
    name: str  # on npm
    version: str
    folder: str  # under sqlapi/docs_assets/
    files: tuple[str, ...]  # paths inside the tarball's package/ folder; stored flat


PACKAGES = (
    Package(
        "swagger-ui-dist",
        SWAGGER_UI_VERSION,
        "swagger-ui",
        (
            "LICENSE",
            "NOTICE",
            "swagger-ui-bundle.js",
            "swagger-ui.css",
            "swagger-ui-standalone-preset.js",
            "favicon-32x32.png",
        ),
    ),
    Package("redoc", REDOC_VERSION, "redoc", ("LICENSE", "bundles/redoc.standalone.js")),
)


def fetch(url: str) -> bytes:
    if not url.startswith(REGISTRY + "/"):
        raise SystemExit(f"refusing to fetch {url}: not on {REGISTRY}")
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:  # noqa: S310 (https only)
        body: bytes = response.read()
    return body


def sri_sha512(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def download(package: Package) -> tuple[dict[str, object], bytes]:
    """The registry's metadata for the pinned version, and its verified tarball."""
    meta = json.loads(fetch(f"{REGISTRY}/{package.name}/{package.version}"))
    if meta.get("name") != package.name or meta.get("version") != package.version:
        raise SystemExit(f"{package.name}@{package.version}: the registry answered for another")
    dist = meta["dist"]
    tarball = fetch(dist["tarball"])
    if sri_sha512(tarball) != dist["integrity"]:
        raise SystemExit(f"{dist['tarball']}: sha512 does not match the registry's integrity")
    return meta, tarball


def extract(package: Package, tarball: bytes) -> dict[str, bytes]:
    """The pinned files (and the notices they point to), by name inside package.folder."""
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:

        def read(inner: str) -> bytes:
            member = archive.getmember(f"package/{inner}")
            handle = archive.extractfile(member) if member.isfile() else None
            if handle is None:
                raise SystemExit(f"{package.name}: package/{inner} is not a regular file")
            return handle.read()

        files: dict[str, bytes] = {}
        for inner in package.files:
            data = files[Path(inner).name] = read(inner)
            if inner.endswith(".js"):
                folder = str(Path(inner).parent)
                for notice in sorted(set(NOTICE_REF.findall(data))):
                    name = notice.decode()
                    files[name] = read(name if folder == "." else f"{folder}/{name}")
        tarball_version = json.loads(read("package.json"))["version"]
    if tarball_version != package.version:
        raise SystemExit(f"{package.name}: the tarball's package.json says {tarball_version}")
    return files


def versions_text(records: list[tuple[Package, dict[str, object], dict[str, bytes]]]) -> str:
    lines = [
        "Swagger UI and ReDoc as shipped inside sqlapi and served under /assets/.",
        "Written by scripts/refresh_docs_assets.py (change the pins there, then run it);",
        "do not edit by hand. Integrity is the npm registry's dist.integrity of the tarball,",
        "checked before extraction; each file's sha256 follows its name.",
        "",
    ]
    for package, meta, files in records:
        dist = meta["dist"]
        assert isinstance(dist, dict)
        lines += [
            f"{package.name} {package.version} (licence: {meta.get('license')})",
            f"  tarball:   {dist['tarball']}",
            f"  integrity: {dist['integrity']}",
            f"  files in {package.folder}/:",
        ]
        for name in sorted(files):
            lines.append(f"    {name}  sha256:{hashlib.sha256(files[name]).hexdigest()}")
        lines.append("")
    return "\n".join(lines)


def main() -> int:
    records = []
    for package in PACKAGES:
        meta, tarball = download(package)
        records.append((package, meta, extract(package, tarball)))
        print(f"{package.name}@{package.version}: {len(tarball):,} bytes, integrity ok")

    wanted: dict[Path, bytes] = {TARGET / "VERSIONS.txt": versions_text(records).encode()}
    for package, _, files in records:
        for name, data in files.items():
            wanted[TARGET / package.folder / name] = data
    for path, data in sorted(wanted.items()):
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_bytes() != data:
            path.write_bytes(data)
            print(f"wrote {path.relative_to(TARGET.parent.parent)} ({len(data):,} bytes)")
    for path in sorted(TARGET.rglob("*"), reverse=True):
        if path.is_file() and path not in wanted:
            path.unlink()
            print(f"removed {path.relative_to(TARGET.parent.parent)}")
        elif path.is_dir() and not any(path.iterdir()):
            path.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
