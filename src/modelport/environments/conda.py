"""Turn conda package specs into pip requirements when no conda is available.

Most conda-forge/anaconda packages users list for inference have the same name on PyPI; the
few that differ are renamed here, and packages that only make sense inside a conda prefix
(compilers, BLAS builds, CUDA runtimes, the interpreter itself) are dropped with a note.
"""

from __future__ import annotations

import re

# conda name -> PyPI name, for packages whose names differ.
RENAMES: dict[str, str] = {
    "pytorch": "torch",
    "pytorch-cpu": "torch",
    "pytorch-gpu": "torch",
    "py-xgboost": "xgboost",
    "py-xgboost-cpu": "xgboost",
    "py-xgboost-gpu": "xgboost",
    "py-lightgbm": "lightgbm",
    "tensorflow-gpu": "tensorflow",
    "tensorflow-mkl": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "keras-gpu": "keras",
    "python-graphviz": "graphviz",
    "py-opencv": "opencv-python",
    "opencv": "opencv-python",
    "matplotlib-base": "matplotlib",
    "pytables": "tables",
    "msgpack-python": "msgpack",
    "pyqt": "PyQt5",
    "python-dateutil": "python-dateutil",
    "pillow-simd": "pillow",
    # conda-forge splits of one PyPI package
    "numpy-base": "numpy",
    "seaborn-base": "seaborn",
    "dask-core": "dask",
    "pyarrow-core": "pyarrow",
    "tensorflow-base": "tensorflow",
    "tensorflow-eigen": "tensorflow",
    "lightgbm-cpu": "lightgbm",
    "faiss": "faiss-cpu",
    "torchvision-cpu": "torchvision",
    # conda's python- prefixed bindings
    "python-kaleido": "kaleido",
    "python-kubernetes": "kubernetes",
    "python-flatbuffers": "flatbuffers",
    "python-duckdb": "duckdb",
    "python-xxhash": "xxhash",
    "python-lmdb": "lmdb",
    "python-blosc": "blosc",
    "python-tzdata": "tzdata",
    "python-fastjsonschema": "fastjsonschema",
    # different names
    "ruamel_yaml": "ruamel.yaml",
    "psycopg2": "psycopg2-binary",  # conda's is prebuilt; PyPI's psycopg2 compiles
    "libxgboost": "xgboost",
}

# Packaging tools and the interpreter: the venv builder provides these itself.
TOOLING = frozenset({"python", "pip", "setuptools", "wheel"})

# Conda-only system packages (native libraries and meta-packages) with no PyPI meaning.
SYSTEM = frozenset(
    {
        "_libgcc_mutex",
        "_openmp_mutex",
        "_anaconda_depends",
        "anaconda",
        "arrow-cpp",
        "boost-cpp",
        "bzip2",
        "c-ares",
        "conda",
        "conda-build",
        "cuda-nvcc",
        "cuda-runtime",
        "cuda-version",
        "freetype",
        "hdf5",
        "icu",
        "jpeg",
        "krb5",
        "libarrow",
        "libcurl",
        "libedit",
        "libiconv",
        "libpng",
        "libsodium",
        "libtiff",
        "libxml2",
        "lz4-c",
        "mpich",
        "openmpi",
        "qt",
        "unixodbc",
        "yaml",
        "zstd",
        "blas",
        "ca-certificates",
        "cpuonly",
        "cudatoolkit",
        "cudnn",
        "cuda",
        "cuda-toolkit",
        "gcc",
        "gxx",
        "intel-openmp",
        "ld_impl_linux-64",
        "libblas",
        "libcblas",
        "libffi",
        "libgcc",
        "libgcc-ng",
        "libgfortran",
        "libgfortran-ng",
        "libgomp",
        "liblapack",
        "libopenblas",
        "libopencv",
        "libprotobuf",
        "libstdcxx-ng",
        "libuuid",
        "libzlib",
        "mkl",
        "mkl-service",
        "mkl_fft",
        "mkl_random",
        "mkl-include",
        "nccl",
        "ncurses",
        "nomkl",
        "openblas",
        "openssl",
        "pytorch-cuda",
        "pytorch-mutex",
        "readline",
        "sqlite",
        "tk",
        "tzdata",
        "xz",
        "zlib",
    }
)

_SPEC = re.compile(
    r"""^\s*
    (?:[^\s:]+::)?                        # channel::
    (?P<name>[A-Za-z0-9_][A-Za-z0-9_.\-]*)
    (?P<extras>\[[^\]]*\])?
    \s*(?P<rest>.*?)\s*$""",
    re.VERBOSE,
)


def conda_name_to_pypi(name: str) -> str:
    """The PyPI name for a conda package name (`pytorch` -> `torch`)."""
    return RENAMES.get(name.lower(), name)


def split_conda_spec(spec: str) -> tuple[str, str]:
    """Split a conda match spec into (name, version constraint as written by conda)."""
    match = _SPEC.match(spec)
    if match is None:
        raise ValueError(f"not a conda package spec: {spec!r}")
    rest = match["rest"]
    if rest.startswith("[") or match["extras"]:
        # Bracket syntax (`numpy[version='>=1.2']`) carries the version as a keyword.
        bracket = (match["extras"] or "") + rest
        version = re.search(r"version\s*=\s*['\"]?([^'\"\],]+(?:,[^'\"\]]+)*)", bracket)
        return match["name"], version.group(1) if version else ""
    return match["name"], rest


def conda_version_to_pip(version: str) -> str | None:
    """Convert a conda version constraint to a PEP 440 specifier; None when pip can't express it.

    `=1.2.3` and `1.2.3` pin exactly (`==1.2.3`), `=1.2` and `=1.2.*` mean "1.2.anything"
    (`==1.2.*`, conda's fuzzy match), a build string (`=1.2=py36_0`) is dropped, and
    operators (`>=1.2,<2`) pass through.
    """
    version = version.strip()
    if not version or version in ("*", "=*"):
        return ""
    if "|" in version:
        return None
    if re.match(r"^[<>!~=]=?\s", version):  # "numpy >= 1.2": conda allows the space
        version = re.sub(r"\s+", "", version)
    # "1.2 py36_0" (space form) or "=1.2=py36_0": the build string is conda-only.
    version = version.split()[0]
    if version.startswith("=") and not version.startswith("=="):
        version = version[1:]
    if version.startswith("=="):
        return "==" + version[2:].split("=")[0]
    if re.match(r"^[<>!~]", version):
        # ">1.2=py3*": drop a build string after each operator's version
        return ",".join(
            re.sub(r"^([<>!~]=?|==)([^=]+)=.*$", r"\1\2", p) for p in version.split(",")
        )
    version = version.split("=")[0]
    if version.endswith("*"):
        return "==" + version.rstrip(".*") + ".*"
    if version.count(".") < 2:
        return f"=={version}.*"
    return f"=={version}"


def conda_to_pip(spec: str) -> tuple[str | None, str | None]:
    """Map one conda package spec to (pip requirement or None, note for the build log or None)."""
    name, version = split_conda_spec(spec)
    key = name.lower()
    if key in TOOLING:
        return None, f"conda package '{spec}' is provided by the virtualenv itself; skipped"
    if key in SYSTEM:
        return None, f"conda-only system package '{spec}' has no PyPI equivalent; skipped"
    if key.startswith("r-"):
        return None, f"R package '{spec}' cannot be installed with pip; skipped"
    pypi = conda_name_to_pypi(name)
    pip_version = conda_version_to_pip(version)
    note = None
    if pypi != name:
        note = f"conda package '{name}' is '{pypi}' on PyPI"
    if pip_version is None:
        note = f"conda version '{version}' of '{name}' cannot be expressed for pip; left unpinned"
        pip_version = ""
    return pypi + pip_version, note
