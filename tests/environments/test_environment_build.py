"""Real builds with uv against the package index; tiny packages, one shared cache per session."""

from __future__ import annotations

import io
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from modelport.environments import (
    BuiltEnvironment,
    CondaDependencies,
    Environment,
    EnvironmentBuildError,
    build,
    build_environment,
)

CURRENT = "{}.{}".format(*sys.version_info[:2])


def _env(
    *pip: str, name: str = "t", python: str | None = None, conda: tuple[str, ...] = ()
) -> Environment:
    env = Environment(name)
    env.python.conda_dependencies = CondaDependencies.create(
        pip_packages=list(pip), conda_packages=list(conda), python_version=python
    )
    return env


def _run(python: Path, code: str) -> str:
    return subprocess.run(
        [str(python), "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()


def _leftovers(cache: Path) -> list[Path]:
    staging = cache / ".tmp"
    return list(staging.iterdir()) if staging.exists() else []


def test_build_then_cached_rebuild_does_no_work(
    env_cache: Path, build_log: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    env = _env("six")
    built = build_environment(env, env_cache, build_log.append, install_modelport=False)
    assert built.path == env_cache / built.spec_hash
    assert built.python == built.path / "bin" / "python"
    assert _run(built.python, "import six, sys; print(sys.prefix)") == str(built.path)
    if not built.reused:  # another test may have built this spec first
        assert any("six" in line for line in build_log)

    # A cached build starts no process (no uv, no pip, no interpreter probe) and logs nothing:
    # what made it fast, checked without a clock (its speed is bench/ material).
    def no_process(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"a cached build started a process: {args[:1]}")

    monkeypatch.setattr(subprocess, "Popen", no_process)
    # The name is not part of the key, and the log may be a text stream (the service log).
    log = io.StringIO()
    again = build_environment(_env("six", name="renamed"), env_cache, log, install_modelport=False)
    monkeypatch.undo()
    assert again == BuiltEnvironment(built.python, built.path, built.spec_hash, reused=True)
    assert log.getvalue() == ""
    assert _leftovers(env_cache) == []


def test_unknown_package_fails_clearly_and_leaves_nothing(env_cache: Path) -> None:
    before = set(env_cache.iterdir())
    log = io.StringIO()
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(
            _env("six", "nonexistent-pkg-xyz"), env_cache, log, install_modelport=False
        )
    message = str(caught.value)
    assert "requirement 'nonexistent-pkg-xyz' failed" in message
    assert "No solution found: 'nonexistent-pkg-xyz' not found on the package index" in message
    assert "nonexistent-pkg-xyz" in log.getvalue()  # uv's own output went to the service log
    assert {p for p in env_cache.iterdir() if not p.name.startswith(".")} == {
        p for p in before if not p.name.startswith(".")
    }
    assert _leftovers(env_cache) == []


def test_unavailable_python_is_refused_naming_the_switch_or_replaced_with_it(
    env_cache: Path, build_log: list[str]
) -> None:
    env = _env("six", python="3.99.1")
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(env, env_cache, build_log.append, install_modelport=False)
    assert (
        f"Environment 't' on Python {CURRENT}: python=3.99.1 cannot be used: Python 3.99 is not "
        "installed on this machine"
    ) in str(caught.value)
    assert "resolve_nearest" in caught.value.hint
    built = build_environment(
        env, env_cache, build_log.append, install_modelport=False, resolve_nearest=True
    )
    changed = [line for line in build_log if line.startswith("resolve_nearest: python=3.99.1 ->")]
    assert changed and "the running Python; Python 3.99 is not installed" in changed[0]
    assert _run(built.python, "import sys; print('%d.%d' % sys.version_info[:2])") == CURRENT


def test_python_too_old_for_the_scoring_server_is_refused_or_replaced() -> None:
    chosen, refused = build._choose_interpreter(
        "3.6", build.find_uv(), True, print, written="3.6.2"
    )
    assert chosen == build._base_interpreter()
    assert refused == "python=3.6.2 cannot be used: modelport's scoring server needs Python 3.11+"
    lines: list[str] = []
    chosen, refused = build._choose_interpreter(
        "3.6", build.find_uv(), True, lines.append, nearest=True
    )
    assert chosen == build._base_interpreter() and refused is None
    assert lines[0].startswith(f"resolve_nearest: python=3.6 -> python={CURRENT}.")


def test_user_managed_builds_nothing(tmp_path: Path) -> None:
    built = build_environment(Environment.current(), tmp_path, print)
    assert built.python == Path(sys.executable)
    assert built.reused
    assert list(tmp_path.iterdir()) == []


def test_concurrent_builders_of_one_spec_build_once(env_cache: Path) -> None:
    results: list[BuiltEnvironment] = []
    errors: list[BaseException] = []

    def builder() -> None:
        try:
            results.append(
                build_environment(
                    _env("idna", "six"), env_cache, lambda _: None, install_modelport=False
                )
            )
        except BaseException as exc:  # surfaced by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=builder) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len({r.path for r in results}) == 1
    assert sorted(r.reused for r in results) in ([False, True], [True, True])
    assert _leftovers(env_cache) == []


def test_old_pin_that_cannot_install_names_the_requirement_and_the_switch(
    env_cache: Path,
) -> None:
    """Refused before any install (an old sdist would otherwise try to compile for minutes)."""
    env = _env(conda=("scikit-learn=0.20.0",))
    before = set(env_cache.iterdir())
    with pytest.raises(EnvironmentBuildError) as caught:
        build_environment(env, env_cache, lambda _: None, install_modelport=False)
    message = str(caught.value)
    assert f"Environment 't' on Python {CURRENT}: 'scikit-learn==0.20.0'" in message
    assert "(from conda: scikit-learn=0.20.0) has no release that installs here" in message
    assert "(nearest that does: 1." in message  # the first release with wheels for it
    assert "env.python.resolve_nearest = True" in caught.value.hint
    assert "--resolve-nearest" in caught.value.hint
    assert set(env_cache.iterdir()) - before <= {env_cache / ".pypi", env_cache / ".locks"}


@pytest.mark.slow
def test_install_modelport_makes_a_venv_that_can_serve(env_cache: Path, tmp_path: Path) -> None:
    import httpx

    built = build_environment(_env("six"), env_cache, lambda _: None, install_modelport=True)
    assert build_environment(_env("six"), env_cache, lambda _: None).reused
    # the venv's own interpreter runs the scoring server and answers /score
    app = tmp_path / "app"
    app.mkdir()
    (app / "score.py").write_text(
        "import six\n\ndef init():\n    pass\n\ndef run(raw):\n    return {'six': six.__name__}\n"
    )
    port_file = tmp_path / "port"
    server = subprocess.Popen(
        [
            *(str(built.python), "-m", "modelport.scoring", "--entry-script", "score.py"),
            *("--app-root", str(app), "--port", "0", "--port-file", str(port_file)),
        ],
        cwd=app,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while not (port_file.exists() and port_file.read_text()):
            assert server.poll() is None, server.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the server never wrote its port"
            time.sleep(0.05)
        url = f"http://127.0.0.1:{port_file.read_text()}"
        while True:
            assert server.poll() is None, server.communicate()[1].decode()[-2000:]
            assert time.monotonic() < deadline, "the server never became ready"
            try:
                if httpx.get(url + "/readyz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        answer = httpx.post(url + "/score", content="hi")
        assert answer.status_code == 200 and answer.json() == {"six": "six"}
    finally:
        server.terminate()
        server.communicate(timeout=30)
    assert server.returncode == 0


@pytest.mark.slow
def test_pip_fallback_when_uv_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(build, "find_uv", lambda: None)
    built = build_environment(_env("six"), tmp_path, lambda _: None, install_modelport=False)
    assert _run(built.python, "import six; print(six.__name__)") == "six"
    scripts = [p for p in (built.path / "bin").iterdir() if p.is_file() and not p.is_symlink()]
    assert scripts  # pip, activate, ...: their recorded paths point at the final folder
    assert all("/.tmp/" not in p.read_text(errors="replace") for p in scripts)
