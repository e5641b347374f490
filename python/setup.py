"""Builds winnow._winnow with CMake (the repository's own build, target winnow_python) and packs it
with the pure-Python package. Used by `pip install --no-build-isolation ./python`; everything comes
from Debian packages, nothing from the network.

Environment: WINNOW_BUILD_DIR (the CMake build folder; default: setuptools' build_temp),
WINNOW_JOBS (parallel compile jobs; default: all cores), WINNOW_CMAKE_ARGS (extra -D options),
CMAKE_CXX_COMPILER_LAUNCHER / CMAKE_C_COMPILER_LAUNCHER (e.g. ccache) are honoured by CMake.
"""
import os
import pathlib
import shlex
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        if not (REPO / "CMakeLists.txt").is_file():
            raise RuntimeError(f"{REPO} is not the winnow repository: build from a checkout (pip install ./python)")
        out_dir = pathlib.Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = pathlib.Path(os.environ.get("WINNOW_BUILD_DIR") or (pathlib.Path(self.build_temp).resolve() / "cmake"))
        build_dir.mkdir(parents=True, exist_ok=True)
        generator = ["-G", "Ninja"] if subprocess.run(["ninja", "--version"], capture_output=True).returncode == 0 \
            else []
        configure = [
            "cmake", "-S", str(REPO), "-B", str(build_dir), *generator,
            "-DCMAKE_BUILD_TYPE=Release",
            "-DWINNOW_BUILD_PYTHON=ON", "-DWINNOW_BUILD_TESTS=OFF", "-DWINNOW_BUILD_TOOLS=OFF",
            "-DWINNOW_BUILD_BENCH=OFF",
            f"-DWINNOW_PYTHON={sys.executable}",
            f"-DWINNOW_PYTHON_OUTPUT_DIR={out_dir}",
            *shlex.split(os.environ.get("WINNOW_CMAKE_ARGS", "")),
        ]
        subprocess.run(configure, check=True)
        jobs = os.environ.get("WINNOW_JOBS") or str(os.cpu_count() or 1)
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "winnow_python", "-j", jobs], check=True)


setup(ext_modules=[CMakeExtension("winnow._winnow")], cmdclass={"build_ext": CMakeBuild})
