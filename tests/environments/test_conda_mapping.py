from __future__ import annotations

import pytest

from modelport.environments.conda import conda_to_pip, conda_version_to_pip, split_conda_spec


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("scikit-learn=0.20.0", "scikit-learn==0.20.0"),
        ("numpy>=1.2", "numpy>=1.2"),
        ("numpy=1.2.*", "numpy==1.2.*"),
        ("numpy=1.21", "numpy==1.21.*"),  # conda's `=` on a short version is a prefix match
        ("numpy==1.21", "numpy==1.21"),
        ("numpy 1.21.2 py39_0", "numpy==1.21.2"),
        ("numpy=1.21.2=py39_0", "numpy==1.21.2"),
        ("conda-forge::pandas>=1.0,<2", "pandas>=1.0,<2"),
        ("pytorch=1.13.1", "torch==1.13.1"),
        ("py-xgboost", "xgboost"),
        ("tensorflow-gpu=2.4.1", "tensorflow==2.4.1"),
        ("python-graphviz", "graphviz"),
        ("six", "six"),
        ("numpy[version='>=1.2']", "numpy>=1.2"),
    ],
)
def test_conda_specs_become_pip_requirements(spec: str, expected: str) -> None:
    assert conda_to_pip(spec)[0] == expected


@pytest.mark.parametrize(
    "spec", ["python=3.6.2", "pip", "setuptools", "libgcc", "mkl", "cudatoolkit=11.3", "nomkl"]
)
def test_interpreter_tooling_and_system_packages_are_dropped_with_a_note(spec: str) -> None:
    requirement, note = conda_to_pip(spec)
    assert requirement is None
    assert note is not None and spec in note


def test_renames_are_noted() -> None:
    assert conda_to_pip("pytorch")[1] == "conda package 'pytorch' is 'torch' on PyPI"


def test_or_versions_are_left_unpinned_with_a_note() -> None:
    requirement, note = conda_to_pip("numpy 1.20|1.21")
    assert requirement == "numpy"
    assert note is not None and "cannot be expressed" in note


def test_split_rejects_garbage() -> None:
    with pytest.raises(ValueError, match="not a conda package spec"):
        split_conda_spec("!!!")


def test_empty_version_stays_empty() -> None:
    assert conda_version_to_pip("") == ""


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("numpy=1.23.5=py311h7d28db0_0", "numpy==1.23.5"),  # conda build strings are dropped
        ("numpy==1.23.5=py311h7d28db0_0", "numpy==1.23.5"),
        ("numpy>1.2=py3*", "numpy>1.2"),
        ("numpy>=1.2,<2=py3_0", "numpy>=1.2,<2"),
        ("numpy >= 1.2", "numpy>=1.2"),  # conda allows a space after the operator
        ("numpy=*", "numpy"),
        ("numpy 1.2.*", "numpy==1.2.*"),
        ("numpy!=1.2", "numpy!=1.2"),
        ("numpy~=1.2", "numpy~=1.2"),
        ("conda-forge::numpy=1.23", "numpy==1.23.*"),
        ("numpy-base=1.23", "numpy==1.23.*"),
        ("dask-core", "dask"),
        ("python-kubernetes", "kubernetes"),
        ("ruamel_yaml", "ruamel.yaml"),
        ("psycopg2=2.9", "psycopg2-binary==2.9.*"),
        ("faiss", "faiss-cpu"),
    ],
)
def test_conda_operators_build_strings_and_renames(spec: str, expected: str) -> None:
    assert conda_to_pip(spec)[0] == expected


def test_conda_only_packages_never_reach_pip() -> None:
    for spec in ("hdf5=1.12", "libpng", "openmpi", "qt=5", "zstd", "icu 73.2 h59595ed_0"):
        requirement, note = conda_to_pip(spec)
        assert requirement is None and note is not None and "no PyPI equivalent" in note


def test_python_specs_ask_for_another_python_only_when_this_one_does_not_match() -> None:
    import sys

    from modelport.environments.resolve import _major_minor

    here = "{}.{}".format(*sys.version_info[:2])
    assert _major_minor("3.6.2=h12debd9_1") == "3.6"  # build string dropped
    assert _major_minor(f">=3.8,<{sys.version_info[0]}.{sys.version_info[1] + 1}") is None
    assert _major_minor(f"{here}.*") is None and _major_minor(here) is None
    assert _major_minor("3.9.*") == "3.9"
