"""Which pins install here, the nearest release that does, and the resolution cut-off: on
release lists written in the test (the real PyPI path runs in test_old_environments)."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest
from packaging.version import Version

from modelport.environments import pins

UTC = dt.UTC
HERE = "cp{}{}".format(*sys.version_info[:2])


def _release(version: str, day: str, installs: bool) -> pins.Release:
    return pins.Release(
        Version(version), dt.datetime.fromisoformat(day).replace(tzinfo=UTC), installs
    )


SKLEARN = [
    _release("0.22.1", "2020-01-02", False),
    _release("1.0.2", "2021-12-24", False),
    _release("1.1.3", "2022-10-25", True),
    _release("1.2.0", "2022-12-08", True),
]


@pytest.mark.parametrize(
    ("requirement", "expected"),
    [
        ("scikit-learn==0.22.1", ("scikit-learn", "", "0.22.1", False)),
        ("numpy==1.23.*", ("numpy", "", "1.23", True)),
        (
            "inference-schema[numpy-support]==1.8",
            ("inference-schema", "[numpy-support]", "1.8", False),
        ),
        ("numpy>=1.2", None),
        ("numpy", None),
        ("numpy==1.2; python_version<'3'", None),
    ],
)
def test_exact_pins_are_recognised(
    requirement: str, expected: tuple[str, str, str, bool] | None
) -> None:
    pin = pins.exact_pin(requirement)
    assert (None if pin is None else (pin.name, pin.extras, pin.version, pin.prefix)) == expected


def test_nearest_is_the_oldest_newer_release_that_installs() -> None:
    pin = pins.exact_pin("scikit-learn==0.22.1")
    assert pin is not None and pins.unsatisfiable(pin, SKLEARN)
    found = pins.nearest(pin, SKLEARN)
    assert found is not None and found.version == Version("1.1.3")


def test_nearest_falls_back_to_the_newest_older_release() -> None:
    pin = pins.exact_pin("scikit-learn==9.0")  # no such release: the newest that installs
    assert pin is not None and pins.unsatisfiable(pin, SKLEARN)
    found = pins.nearest(pin, SKLEARN)
    assert found is not None and found.version == Version("1.2.0")


def test_a_series_pin_is_satisfied_by_any_release_in_it() -> None:
    pin = pins.exact_pin("scikit-learn==1.1.*")
    assert pin is not None and not pins.unsatisfiable(pin, SKLEARN)
    release = pins.release_of(pin, SKLEARN)
    assert release is not None and release.version == Version("1.1.3")


def test_the_cutoff_is_the_newest_pin_plus_the_margin_never_before_this_python() -> None:
    old = pins.exact_pin("scikit-learn==0.22.1")
    new = pins.exact_pin("scikit-learn==1.2.0")
    assert old is not None and new is not None
    when, why = pins.cutoff_for([(new, SKLEARN[3]), (old, SKLEARN[0])]) or (None, "")
    assert when == SKLEARN[3].uploaded + pins.CUTOFF_MARGIN and "scikit-learn==1.2.0" in why
    floor = pins.PYTHON_RELEASED[sys.version_info[:2]] + pins.CUTOFF_MARGIN
    when, why = pins.cutoff_for([(old, SKLEARN[0])]) or (None, "")
    assert when == max(floor, SKLEARN[0].uploaded + pins.CUTOFF_MARGIN)
    assert "release + margin" in why
    assert pins.cutoff_for([]) is None


def test_release_facts_come_from_the_json_api_files(tmp_path: Path) -> None:
    """What installs here is read from the files of each release, as PyPI lists them."""
    (tmp_path / ".pypi").mkdir()
    wheel = f"demo-2.0-{HERE}-{HERE}-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
    releases = {
        "1.0": [
            {
                "filename": "demo-1.0-cp36-cp36m-manylinux1_x86_64.whl",
                "upload_time_iso_8601": "2019-01-01T00:00:00Z",
            },
            {"filename": "demo-1.0.tar.gz", "upload_time_iso_8601": "2019-01-01T00:00:00Z"},
        ],
        "1.5": [
            {
                "filename": "demo-1.5.tar.gz",
                "upload_time_iso_8601": "2020-01-01T00:00:00Z",
                "requires_python": ">=3.6",
            }
        ],
        "1.6": [
            {
                "filename": "demo-1.6.tar.gz",
                "upload_time_iso_8601": "2020-06-01T00:00:00Z",
                "requires_python": "<3.8",
            }
        ],
        "2.0": [
            {"filename": wheel, "upload_time_iso_8601": "2023-01-01T00:00:00Z"},
            {"filename": "demo-2.0.tar.gz", "upload_time_iso_8601": "2023-01-02T00:00:00Z"},
        ],
        "2.1": [
            {
                "filename": "demo-2.1.tar.gz",
                "upload_time_iso_8601": "2023-02-01T00:00:00Z",
                "yanked": True,
            }
        ],
        "3.0rc1": [
            {"filename": "demo-3.0rc1.tar.gz", "upload_time_iso_8601": "2024-01-01T00:00:00Z"}
        ],
    }
    (tmp_path / ".pypi" / "demo.json").write_text(json.dumps({"releases": releases}))
    found = {str(r.version): r.installs_here for r in pins.PyPI(tmp_path).releases("Demo")}
    # binary-only for old Pythons: no; sdist-only allowing us: yes; sdist for <3.8: no;
    # yanked and pre-releases are never candidates
    assert found == {"1.0": False, "1.5": True, "1.6": False, "2.0": True}


def test_resolve_nearest_is_a_deployment_config_setting_too(tmp_path: Path) -> None:
    """deploymentconfig.json's `resolveNearest` (modelport's key) reads, writes and validates."""
    from modelport.configs import DeploymentConfig
    from modelport.errors import InvalidArgument

    path = tmp_path / "dc.json"
    path.write_text(json.dumps({"computeType": "local", "resolveNearest": True}))
    config = DeploymentConfig.from_file(path)
    assert config.resolve_nearest
    assert DeploymentConfig.from_file(config.write(tmp_path / "again.json")).resolve_nearest
    assert not DeploymentConfig().resolve_nearest  # strict by default
    path.write_text(json.dumps({"computeType": "local", "resolveNearest": "yes"}))
    with pytest.raises(InvalidArgument, match="resolveNearest"):
        DeploymentConfig.from_file(path)


def test_the_json_api_is_asked_once_a_day_and_its_absence_skips_the_checks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real loopback server stands in for PyPI: 200 (cached after), 404 (no such project),
    and a closed port (offline, a private index): `Unavailable`, so the build skips checks."""
    import http.server
    import threading

    asked: list[str] = []
    body = json.dumps(
        {
            "releases": {
                "1.0": [
                    {"filename": "demo-1.0.tar.gz", "upload_time_iso_8601": "2020-01-01T00:00:00Z"}
                ]
            }
        }
    ).encode()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            asked.append(self.path)
            found = self.path == "/pypi/demo/json"
            self.send_response(200 if found else 404)
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        monkeypatch.setattr(pins, "PYPI", f"http://127.0.0.1:{server.server_port}/pypi")
        pypi = pins.PyPI(tmp_path)
        assert [str(r.version) for r in pypi.releases("demo")] == ["1.0"]
        assert [str(r.version) for r in pypi.releases("Demo")] == ["1.0"]  # from the cache
        assert pypi.releases("no-such-project") == []
        assert asked == ["/pypi/demo/json", "/pypi/no-such-project/json"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(10)
    monkeypatch.setattr(pins, "PYPI", f"http://127.0.0.1:{server.server_port}/pypi")  # now closed
    with pytest.raises(pins.Unavailable, match="not reachable"):
        pins.PyPI(tmp_path).releases("other")


def test_without_pypi_a_build_still_installs_and_says_what_it_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    from modelport.environments import CondaDependencies, Environment, build_environment

    with socket.socket() as probe:  # a loopback port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setattr(pins, "PYPI", f"http://127.0.0.1:{port}/pypi")
    env = Environment("offline")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six==1.16.0"])
    log: list[str] = []
    built = build_environment(env, tmp_path, log.append, install_modelport=False)
    assert (built.path / "modelport-env.json").is_file()
    assert any("pins are not checked and no resolution cut-off is used" in line for line in log)


def test_the_switches_are_stored_with_the_environment_only_when_set() -> None:
    """Defaults leave the stored spec as before (registered versions do not change);
    a bad cut-off fails where it is written."""
    from modelport.environments import CondaDependencies, Environment
    from modelport.errors import InvalidArgument

    env = Environment("e")
    env.python.conda_dependencies = CondaDependencies.create(pip_packages=["six"])
    assert "resolve_nearest" not in env.to_dict()["python"]
    assert "exclude_newer" not in env.to_dict()["python"]
    env.python.resolve_nearest = True
    env.python.exclude_newer = dt.date(2023, 6, 30)  # type: ignore[assignment]
    again = Environment.from_dict(env.to_dict())
    assert again.python.resolve_nearest and again.python.exclude_newer == "2023-06-30"
    env.python.exclude_newer = None
    assert Environment.from_dict(env.to_dict()).python.exclude_newer is None
    with pytest.raises(InvalidArgument, match="exclude_newer must be 'auto', None or a date"):
        env.python.exclude_newer = "last tuesday"
