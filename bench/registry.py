"""Registry benchmark (issue: foundation). Run on demand: `.venv/bin/python bench/registry.py`.

Reports
- CLI start-up: `modelport --help` and `modelport model list` on an empty workspace;
- register + download of a 1 GiB folder of 100 files, in MB/s, next to `cp -r` of the same
  folder measured in the same run;
- registering 1,000 small versions, then `model list`: time per operation.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from modelport.core import Model, Workspace


def _time(cmd: list[str], cwd: Path, repeat: int = 7) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(cmd, cwd=cwd, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def _drop_caches() -> None:
    subprocess.run(["sync"], check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--versions", type=int, default=1000)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="modelport-bench-"))
    modelport = str(Path(sys.executable).with_name("modelport"))
    try:
        ws = Workspace.create(root / ".modelport")
        help_s = _time([modelport, "--help"], root)
        list_s = _time([modelport, "model", "list"], root)

        folder = root / "big_model"
        folder.mkdir()
        per_file = args.size_mib * 2**20 // args.files
        block = os.urandom(per_file)
        for i in range(args.files):
            (folder / f"shard_{i:03}.bin").write_bytes(block[i:] + block[:i])  # distinct content
        total_mb = per_file * args.files / 1e6

        _drop_caches()
        start = time.perf_counter()
        subprocess.run(["cp", "-r", str(folder), str(root / "cp_copy")], check=True)
        cp_s = time.perf_counter() - start
        shutil.rmtree(root / "cp_copy")

        _drop_caches()
        start = time.perf_counter()
        model = Model.register(ws, folder, "big")
        register_s = time.perf_counter() - start
        _drop_caches()
        start = time.perf_counter()
        model.download(root / "download")
        download_s = time.perf_counter() - start

        small = root / "small.pkl"
        start = time.perf_counter()
        for i in range(args.versions):
            small.write_bytes(f"model {i}".encode())
            Model.register(ws, small, "small")
        per_register_ms = (time.perf_counter() - start) / args.versions * 1000
        start = time.perf_counter()
        listed = Model.list(ws)
        list_sdk_ms = (time.perf_counter() - start) * 1000
        list_cli_s = _time([modelport, "model", "list", "-o", "json"], root, repeat=3)

        print("| measurement | result |\n|---|---|")
        print(f"| `modelport --help` | {help_s * 1000:.0f} ms |")
        print(f"| `modelport model list` (empty workspace) | {list_s * 1000:.0f} ms |")
        print(f"| `cp -r` {args.files} files, {total_mb:.0f} MB | {total_mb / cp_s:.0f} MB/s |")
        print(
            f"| register the same folder | {total_mb / register_s:.0f} MB/s ({register_s / cp_s:.2f}x cp's time) |"
        )
        print(
            f"| download it (sha256 verified) | {total_mb / download_s:.0f} MB/s ({download_s / cp_s:.2f}x cp's time) |"
        )
        print(f"| register a small version (x{args.versions}) | {per_register_ms:.1f} ms each |")
        print(f"| `Model.list` with {len(listed)} versions | {list_sdk_ms:.0f} ms |")
        print(
            f"| `modelport model list -o json` with {len(listed)} versions | {list_cli_s * 1000:.0f} ms |"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
