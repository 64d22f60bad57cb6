"""`modelport profile run|show|list|delete`, and the `model profile` command (v1's
`az ml model profile`), which `model_cmd` attaches to the `model` group."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from modelport.cli._output import (
    emit_json,
    emit_mapping,
    emit_table,
    output_option,
    workspace_option,
)
from modelport.errors import DeploymentError, InvalidArgument

if TYPE_CHECKING:
    from modelport.core.model import ModelProfile


def _steps(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InvalidArgument(f"Invalid --steps {text!r}: write e.g. 1,2,4,8.") from None


@click.command("profile")
@workspace_option
@click.option("-n", "--name", required=True, help="Profile name (unique in the workspace).")
@click.option(
    "-m", "--model", "models", multiple=True, metavar="NAME:VERSION", help="Model (repeatable)."
)
@click.option(
    "--ic", "--inference-config-file", "ic_file", required=True, help="inferenceconfig.json"
)
@click.option(
    "--idi",
    "--input-dataset-id",
    "dataset",
    required=True,
    help="Registered dataset NAME[:VERSION], or a local file (one request per line).",
)
@click.option("--cpu", type=float, default=None, help="Requested CPU cores (recorded).")
@click.option("--memory-in-gb", type=float, default=None, help="Requested memory (recorded).")
@click.option("--workers", type=int, default=1, show_default=True, help="Service workers.")
@click.option("--steps", default="1,2,4,8,16,32", show_default=True, help="Concurrency steps.")
@click.option("--duration", type=float, default=3.0, show_default=True, help="Seconds per step.")
@click.option("--latency-target-ms", type=float, default=500.0, show_default=True)
@click.option("--target-rps", type=float, default=None, help="Request rate to size replicas for.")
@click.option("--write-dc", default=None, metavar="PATH", help="Write deploymentconfig.json.")
@click.option("-d", "--description", default=None)
@output_option
def model_profile(
    workspace_path: str | None,
    name: str,
    models: tuple[str, ...],
    ic_file: str,
    dataset: str,
    cpu: float | None,
    memory_in_gb: float | None,
    workers: int,
    steps: str,
    duration: float,
    latency_target_ms: float,
    target_rps: float | None,
    write_dc: str | None,
    description: str | None,
    output: str,
) -> None:
    """Deploy the models temporarily, load them at rising concurrency, recommend resources."""
    from modelport.core.model import InferenceConfig, Model
    from modelport.core.workspace import Workspace

    ws = Workspace.get(workspace_path)
    profile = Model.profile(
        ws,
        name,
        list(models),
        InferenceConfig.from_file(ic_file, ws),
        input_dataset=dataset,
        cpu=cpu,
        memory_in_gb=memory_in_gb,
        description=description,
        workers=workers,
        concurrency_steps=_steps(steps),
        step_duration_s=duration,
        latency_target_ms=latency_target_ms,
        target_rps=target_rps,
    )
    profile.wait_for_completion(show_output=output != "json")
    _finish(profile, output, write_dc)


@click.group()
def profile() -> None:
    """Run profiles and show their results."""


profile.add_command(model_profile, "run")


@profile.command("show")
@workspace_option
@click.argument("name")
@click.option("--write-dc", default=None, metavar="PATH", help="Write deploymentconfig.json.")
@output_option
def show(workspace_path: str | None, name: str, write_dc: str | None, output: str) -> None:
    """A profile's recommendation and per-step figures."""
    _finish(_profile(workspace_path, name), output, write_dc, show_summary=True)


@profile.command("list")
@workspace_option
@output_option
def list_profiles(workspace_path: str | None, output: str) -> None:
    """Every profile with its state and recommendation."""
    from modelport.core.model import ModelProfile
    from modelport.core.workspace import Workspace

    profiles = ModelProfile.list(Workspace.get(workspace_path))
    details = [p.get_details() for p in profiles]
    if output == "json":
        emit_json(details)
        return
    emit_table(
        None,
        ["Name", "State", "Models", "CPU", "Memory GB", "req/s", "p99 ms"],
        (
            (
                d["name"],
                d["state"],
                ", ".join(d["models"] or []),
                d["recommendedCpu"],
                d["recommendedMemoryInGB"],
                d["requestsPerSecond"],
                d["latencyPercentile99InMs"],
            )
            for d in details
        ),
    )


@profile.command("delete")
@workspace_option
@click.argument("name")
def delete(workspace_path: str | None, name: str) -> None:
    """Forget a profile and its files."""
    _profile(workspace_path, name).delete()
    click.echo(f"Deleted profile '{name}'")


def _profile(workspace_path: str | None, name: str) -> ModelProfile:
    from modelport.core.model import ModelProfile
    from modelport.core.workspace import Workspace

    return ModelProfile(Workspace.get(workspace_path), name)


def _finish(
    profile: ModelProfile, output: str, write_dc: str | None, show_summary: bool = False
) -> None:
    details = profile.get_details()
    if output == "json":
        emit_json(details)
    else:
        if show_summary:
            click.echo(profile.summary())
        _print_table(details)
    if profile.state == "Failed":
        raise DeploymentError(f"Profile '{profile.name}' failed: {profile.error}")
    if write_dc:
        path = profile.write_deployment_config(write_dc)
        if output != "json":
            click.echo(f"Wrote {path} (deploy with: modelport model deploy ... --dc {path})")


def _print_table(details: dict[str, Any]) -> None:
    keys = [
        "state",
        "error",
        "recommendedCpu",
        "recommendedMemoryInGB",
        "recommendedWorkers",
        "recommendedReplicas",
        "maxUtilizedCpu",
        "maxUtilizedMemoryInGB",
        "requestsPerSecond",
        "maxConcurrencyWithinTarget",
        "errorCount",
        "chart",
    ]
    emit_mapping({k: details[k] for k in keys if details.get(k) is not None})
    steps = details["modelport"]["steps"]
    if steps:
        emit_table(
            None,
            [
                "Concurrency",
                "req/s",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "Errors",
                "CPU mean",
                "CPU peak",
                "Mem GB",
            ],
            (
                (
                    s["concurrency"],
                    s["requests_per_second"],
                    s["latency_p50_ms"],
                    s["latency_p90_ms"],
                    s["latency_p99_ms"],
                    s["errors"],
                    s["cpu_mean_cores"],
                    s["cpu_peak_cores"],
                    s["memory_peak_gb"],
                )
                for s in steps
            ),
        )
    for sample in details["errorSamples"]:
        click.echo(f"error sample: {sample}")
