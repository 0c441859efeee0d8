"""Compute the Debian ``Depends`` of a self-contained bundle from its ELF files.

Usage: ``python packaging/linux/deb_depends.py BUNDLE_DIR`` prints one line, e.g.
``libc6 (>= 2.34), libegl1, libxcb-cursor0, ...``.

Every shared library that an ELF file in the bundle needs (``DT_NEEDED``) and that the bundle
does not hold itself must come from the system. Each one is mapped to its package: through
``ldconfig`` and ``dpkg -S`` when it is installed on the build machine, else by the Debian
library package naming rule (``libxcb-icccm.so.4`` -> ``libxcb-icccm4``,
``libxkbcommon-x11.so.0`` -> ``libxkbcommon-x11-0``). glibc's minimum version is the highest
``GLIBC_x.y`` symbol version the files need.

``dpkg-shlibdeps`` does the same for packages built from source, but it stops at the first
library that is not installed on the build machine (Qt's X11 plugin needs several xcb
libraries that Qt itself does not) and takes minutes on a bundle of this size.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

# Libraries whose packages do not follow the naming rule, or that glibc provides.
GLIBC_LIBRARIES = {
    "libc.so.6",
    "libm.so.6",
    "libdl.so.2",
    "libpthread.so.0",
    "librt.so.1",
    "libutil.so.1",
    "libresolv.so.2",
    "ld-linux-x86-64.so.2",
    "ld-linux-aarch64.so.1",
}
KNOWN_PACKAGES = {
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libgcc_s.so.1": "libgcc-s1",
    "libgdk-3.so.0": "libgtk-3-0",
}
BATCH = 200


def elf_files(root: Path) -> list[Path]:
    """Regular files under ``root`` that start with the ELF magic number."""
    found = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink():
            with path.open("rb") as handle:
                if handle.read(4) == b"\x7fELF":
                    found.append(path)
    return found


def _batches(items: list[Path], size: int) -> Iterator[list[Path]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def needed_and_glibc(files: list[Path]) -> tuple[set[str], tuple[int, ...]]:
    """All ``DT_NEEDED`` names of ``files`` and the highest GLIBC symbol version they use."""
    needed: set[str] = set()
    glibc: tuple[int, ...] = (2, 0)
    for batch in _batches(files, BATCH):
        out = subprocess.run(
            ["readelf", "--wide", "--dynamic", "--version-info", *map(str, batch)],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        needed.update(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        for version in re.findall(r"Name: GLIBC_(\d+(?:\.\d+)+)", out):
            glibc = max(glibc, tuple(int(v) for v in version.split(".")))
    return needed, glibc


def system_library_paths() -> dict[str, str]:
    """Library name -> path, for the native architecture, from ``ldconfig -p``."""
    out = subprocess.run(["ldconfig", "-p"], capture_output=True, text=True, check=False).stdout
    is_64_bit = sys.maxsize > 2**32
    paths: dict[str, str] = {}
    for name, flags, path in re.findall(r"^\s*(\S+) \(([^)]*)\) => (\S+)$", out, re.M):
        # 64-bit entries say so ("libc6,x86-64", "libc6,AArch64"); multilib 32-bit ones do not.
        if ("64" in flags) == is_64_bit:
            paths.setdefault(name, path)
    return paths


def package_owning(path: str) -> str | None:
    """The installed package that holds ``path`` (tries the /usr-merged twin too)."""
    candidates = [path]
    if path.startswith("/usr/"):
        candidates.append(path[4:])
    else:
        candidates.append("/usr" + path)
    for candidate in candidates:
        result = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if result.returncode == 0 and result.stdout:
            return result.stdout.split(":", 1)[0].strip()
    return None


def package_by_rule(library: str) -> str:
    """Debian's library package name for a soname: libfoo.so.3 -> libfoo3, libfoo2.so.1 ->
    libfoo2-1."""
    match = re.fullmatch(r"(.+?)\.so\.(\d+)(?:\.\d+)*", library)
    if not match:
        return library.removesuffix(".so").lower().replace("_", "-")
    name, major = match.group(1).lower().replace("_", "-"), match.group(2)
    return f"{name}-{major}" if name[-1].isdigit() else f"{name}{major}"


def depends(bundle: Path) -> list[str]:
    """The sorted Depends entries of ``bundle``."""
    files = elf_files(bundle)
    if not files:
        raise SystemExit(f"no ELF files under {bundle}")
    bundled = {path.name for path in bundle.rglob("*")}
    needed, glibc = needed_and_glibc(files)
    external = sorted(needed - bundled)
    system = system_library_paths()
    packages = {f"libc6 (>= {'.'.join(map(str, glibc))})"}
    for library in external:
        if library in GLIBC_LIBRARIES:
            continue
        owner = package_owning(system[library]) if library in system else None
        packages.add(owner or KNOWN_PACKAGES.get(library) or package_by_rule(library))
    return sorted(packages)


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 1:
        print(__doc__.splitlines()[2], file=sys.stderr)
        return 2
    print(", ".join(depends(Path(args[0]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
