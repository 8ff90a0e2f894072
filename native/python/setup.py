# Builds grove._grove from the same C++ sources as the library (core/ and native/), so there
# is no separate copy of the code and no CMake step. Install with
#   pip install --no-build-isolation ./native/python
# in a venv of Debian's /usr/bin/python3 made with --system-site-packages (see the README);
# `npm run release` builds the sdist and the wheel (see RELEASING.md).
import os
from pathlib import Path

from pybind11.setup_helpers import ParallelCompile, Pybind11Extension, build_ext
from setuptools import setup

here = Path(__file__).resolve().parent
# Compile the sources on every core (NPY_NUM_BUILD_JOBS=N to choose).
ParallelCompile("NPY_NUM_BUILD_JOBS").install()
# setuptools takes source paths relative to this folder only, so the library's sources are
# reached through _sources/: in a checkout, relative links made here (ignored by git), so a
# copied or moved checkout builds its own sources; in an sdist, real folders (the sdist
# copies what the links show). Only the folders the build reads are linked: a link to all of
# native/ would contain this folder again, a loop for anything that walks the tree.
PARTS = ("core/include", "core/src", "native/include", "native/src", "native/tools")
linked = here / "_sources"
for old_layout in ("core", "native"):  # earlier checkouts linked these folders whole
    if (linked / old_layout).is_symlink():
        (linked / old_layout).unlink()
if (linked / "core" / "src").is_symlink() or not (linked / "core" / "src").exists():
    root = here.parents[1]
    for part in PARTS:
        link = linked / part
        link.parent.mkdir(parents=True, exist_ok=True)
        target = os.path.relpath(root / part, link.parent)
        if link.is_symlink() and os.readlink(link) != target:
            link.unlink()
        if not link.is_symlink():
            link.symlink_to(target, target_is_directory=True)


def cpp_files(folder):
    return [f"_sources/{folder}/{p.name}" for p in sorted((linked / folder).glob("*.cpp"))]


# The command-line tool too, for the `grove` console script (grove/cli.py): the same program.
sources = cpp_files("core/src") + cpp_files("native/src") + cpp_files("native/tools") + ["src/module.cpp"]

extension = Pybind11Extension(
    "grove._grove",
    sources,
    include_dirs=[f"_sources/{part}" for part in ("core/include", "native/include", "native/src", "native/tools")],
    define_macros=[("GROVE_CLI_NO_MAIN", "1")],
    cxx_std=17,
    # As the CMake build: float sums in source order (no fused multiply-add), so builds match
    # Annoy's and the C++ library's bit for bit.
    extra_compile_args=["-O3", "-ffp-contract=off"],
    extra_link_args=["-pthread"],
)

setup(ext_modules=[extension], cmdclass={"build_ext": build_ext})
