from __future__ import annotations

from modelport.environments._process import explain

UV_NOT_FOUND = """\
Using Python 3.11.7 environment at: /tmp/x
  x No solution found when resolving dependencies:
  `-> Because nonexistent-pkg-xyz was not found in the package registry and you require
      nonexistent-pkg-xyz, we can conclude that your requirements are unsatisfiable.
"""
UV_BUILD = """\
Resolved 3 packages in 545ms
error: Failed to build `scikit-learn==0.20.0`
  cause: The build backend returned an error
"""
PIP_NOT_FOUND = (
    "ERROR: Could not find a version that satisfies the requirement nonexistent-pkg-xyz "
    "(from versions: none)\n"
    "ERROR: No matching distribution found for nonexistent-pkg-xyz\n"
)


def test_uv_not_found() -> None:
    failure = explain(UV_NOT_FOUND.splitlines())
    assert failure.kind == "not-found"
    assert failure.package == "nonexistent-pkg-xyz"
    assert (
        failure.message == "No solution found: 'nonexistent-pkg-xyz' not found on the package index"
    )


def test_uv_build_failure() -> None:
    failure = explain(UV_BUILD.splitlines())
    assert (failure.kind, failure.package) == ("build", "scikit-learn==0.20.0")


def test_pip_not_found() -> None:
    failure = explain(PIP_NOT_FOUND.splitlines())
    assert (failure.kind, failure.package) == ("not-found", "nonexistent-pkg-xyz")


def test_unknown_output_quotes_the_error_lines() -> None:
    failure = explain(["noise", "error: disk full", "more noise"])
    assert (failure.kind, failure.message) == ("other", "disk full")
    assert explain([]).message == "the installer failed without output"
