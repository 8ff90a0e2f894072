# Builds grove._grove from the same C++ sources as the library (core/ and native/src/), so
# there is no separate copy of the code and no CMake step. Install with
#   pip install --no-build-isolation ./native/python
# in a venv of Debian's /usr/bin/python3 made with --system-site-packages (see the README).
import os
from pathlib import Path

from pybind11.setup_helpers import Pybind11Extension, build_ext
from setuptools import setup

here = Path(__file__).resolve().parent
root = here.parents[1]
# setuptools takes source paths relative to this folder only: reach the library's sources
# through links made here (ignored by git). Relative links, so a copied or moved checkout
# builds its own sources; a link left by another layout is made again.
linked = here / "_sources"
linked.mkdir(exist_ok=True)
for part in ("core", "native"):
    link = linked / part
    target = os.path.relpath(root / part, linked)
    if link.is_symlink() and os.readlink(link) != target:
        link.unlink()
    if not link.is_symlink():
        link.symlink_to(target, target_is_directory=True)
sources = [f"_sources/core/src/{p.name}" for p in sorted((root / "core" / "src").glob("*.cpp"))]
sources += [f"_sources/native/src/{p.name}" for p in sorted((root / "native" / "src").glob("*.cpp"))]
# The command-line tool too, for the `grove` console script (grove/cli.py): the same program.
sources += ["_sources/native/tools/datasets.cpp", "_sources/native/tools/grove_cli.cpp"]
sources.append("src/module.cpp")

extension = Pybind11Extension(
    "grove._grove",
    sources,
    include_dirs=[str(root / "core" / "include"), str(root / "native" / "include"), str(root / "native" / "src"),
                  str(root / "native" / "tools")],
    define_macros=[("GROVE_CLI_NO_MAIN", "1")],
    cxx_std=17,
    # As the CMake build: float sums in source order (no fused multiply-add), so builds match
    # Annoy's and the C++ library's bit for bit.
    extra_compile_args=["-O3", "-ffp-contract=off"],
    extra_link_args=["-pthread"],
)

setup(ext_modules=[extension], cmdclass={"build_ext": build_ext})
