"""The model registry's SDK object, mirroring Azure ML v1's `azureml.core.model.Model`."""

from __future__ import annotations

import builtins
import os
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelport.errors import Conflict, InvalidArgument, NotFound
from modelport.registry.artifacts import FileEntry, walk_files
from modelport.registry.gc import free_version
from modelport.registry.names import validate_name
from modelport.registry.records import ModelRecord
from modelport.registry.resources import ResourceConfiguration

if TYPE_CHECKING:
    from typing import Self

    from modelport.workspace import Workspace


class Framework:
    """`Model.Framework` constants (the values Azure v1 stores)."""

    CUSTOM = "Custom"
    MULTI = "Multi"
    ONNX = "Onnx"
    PYTORCH = "PyTorch"
    SCIKITLEARN = "ScikitLearn"
    TENSORFLOW = "TensorFlow"
    TFKERAS = "TfKeras"

    @classmethod
    def all(cls) -> list[str]:
        return [v for k, v in vars(cls).items() if k.isupper()]

    @classmethod
    def normalize(cls, value: str | None) -> str | None:
        if value is None:
            return None
        for known in cls.all():
            if value.lower().replace("-", "") == known.lower():
                return known
        raise InvalidArgument(
            f"Unknown model framework {value!r}.",
            hint=f"Use one of: {', '.join(cls.all())}.",
        )


def parse_model_id(model_id: str) -> tuple[str, int | None]:
    """'name:3' → ('name', 3); 'name' → ('name', None)."""
    name, sep, version = str(model_id).partition(":")
    validate_name("model", name)
    if not sep:
        return name, None
    if not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"Invalid model id {model_id!r}: the version after ':' must be a positive integer.",
            hint="Write NAME or NAME:VERSION, e.g. mymodel:1.",
        )
    return name, int(version)


class Model:
    """One registered model version: a named, versioned, immutable set of files."""

    Framework = Framework

    def __init__(
        self,
        workspace: Workspace,
        name: str | None = None,
        id: str | None = None,
        tags: Sequence[Any] | Mapping[str, str] | None = None,
        properties: Sequence[Any] | Mapping[str, str] | None = None,
        version: int | str | None = None,
        run_id: str | None = None,
        *,
        _record: ModelRecord | None = None,
    ) -> None:
        self.workspace = workspace
        if _record is None:
            _record = _lookup(workspace, name, id, tags, properties, version, run_id)
        self._record = _record

    # -- registration ------------------------------------------------------------------
    @classmethod
    def register(
        cls,
        workspace: Workspace,
        model_path: str | os.PathLike[str],
        model_name: str,
        tags: Mapping[str, str] | None = None,
        properties: Mapping[str, str] | None = None,
        description: str | None = None,
        datasets: Any = None,
        model_framework: str | None = None,
        model_framework_version: str | None = None,
        child_paths: Sequence[str] | None = None,
        sample_input_dataset: Any = None,
        sample_output_dataset: Any = None,
        resource_configuration: ResourceConfiguration | None = None,
        *,
        run_id: str | None = None,
        experiment_name: str | None = None,
        follow_external_links: bool = False,
    ) -> Self:
        """Register a file or a whole folder as the next version of `model_name`.

        Files are copied into the content-addressed store first; the version becomes visible
        only when its metadata row commits, so a crash leaves no partial version. Symbolic
        links are stored as the files they point to; links leading outside the folder are
        refused unless `follow_external_links=True`.
        """
        validate_name("model", model_name)
        source = _check_source(model_path)
        framework = Framework.normalize(model_framework)
        files = list(walk_files(source, child_paths, follow_external_links=follow_external_links))
        if not files:
            raise InvalidArgument(
                f"Folder {source} holds no files to register.",
                hint="Point model_path at a model file or a folder that contains one.",
            )
        record = ModelRecord(
            name=model_name,
            version=0,
            root_name=source.name,
            is_dir=source.is_dir(),
            files=[],
            description=description,
            framework=framework,
            framework_version=model_framework_version,
            tags=_str_dict(tags, "tags"),
            properties=_str_dict(properties, "properties"),
            resource_configuration=(
                resource_configuration.serialize() if resource_configuration else None
            ),
            sample_input_dataset=_dataset_ref(sample_input_dataset),
            sample_output_dataset=_dataset_ref(sample_output_dataset),
            run_id=run_id,
            experiment_name=experiment_name,
        )
        with workspace.artifacts.writing():  # until the row commits: see registry/gc.py
            record.files = [e.to_dict() for e in workspace.artifacts.put_tree(files)]
            return cls(workspace, _record=workspace.store.create_model(record))

    # -- queries -----------------------------------------------------------------------
    @classmethod
    def list(
        cls,
        workspace: Workspace,
        name: str | None = None,
        tags: Sequence[Any] | None = None,
        properties: Sequence[Any] | None = None,
        run_id: str | None = None,
        latest: bool = False,
        **_unused: Any,
    ) -> builtins.list[Self]:
        """Models matching every filter; `tags=['k', ['k2', 'v2']]` as in v1."""
        records = workspace.store.list_models(
            name=name, tags=_filters(tags), properties=_filters(properties), latest=latest
        )
        if run_id is not None:
            records = [r for r in records if r.run_id == run_id]
        return [cls(workspace, _record=r) for r in records]

    @classmethod
    def get_model_path(
        cls, model_name: str, version: int | None = None, _workspace: Workspace | None = None
    ) -> str:
        """Local path of a registered model's file or folder.

        With a workspace the version is materialised (hard links, read-only) under the
        workspace's cache; inside a service it is found in the deployed model layout.
        """
        if _workspace is not None:
            model = cls(_workspace, model_name, version=version)
            return str(model.materialize(_workspace.path / "cache" / "azureml-models"))
        from modelport.scoring.shims.model import Model as DeployedModel

        return DeployedModel.get_model_path(model_name, version)

    # -- attributes --------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._record.name

    @property
    def version(self) -> int:
        return self._record.version

    @property
    def id(self) -> str:
        return f"{self.name}:{self.version}"

    @property
    def description(self) -> str | None:
        return self._record.description

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._record.tags)

    @property
    def properties(self) -> dict[str, str]:
        return dict(self._record.properties)

    @property
    def model_framework(self) -> str | None:
        return self._record.framework

    @property
    def model_framework_version(self) -> str | None:
        return self._record.framework_version

    @property
    def resource_configuration(self) -> ResourceConfiguration | None:
        rc = self._record.resource_configuration
        return ResourceConfiguration.deserialize(rc) if rc else None

    @property
    def sample_input_dataset(self) -> str | None:
        return self._record.sample_input_dataset

    @property
    def sample_output_dataset(self) -> str | None:
        return self._record.sample_output_dataset

    @property
    def run_id(self) -> str | None:
        return self._record.run_id

    @property
    def experiment_name(self) -> str | None:
        return self._record.experiment_name

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._record.created_time, tz=UTC)

    @property
    def files(self) -> builtins.list[FileEntry]:
        return [FileEntry.from_dict(f) for f in self._record.files]

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def url(self) -> str:
        return f"modelport://{self.workspace.name}/models/{self.id}"

    # -- changes -----------------------------------------------------------------------
    def add_tags(self, tags: Mapping[str, str]) -> None:
        new = {**self._record.tags, **_str_dict(tags, "tags")}
        self._record = self.workspace.store.update_model(self.name, self.version, tags=new)

    def remove_tags(self, tags: Iterable[str]) -> None:
        drop = set(tags)
        new = {k: v for k, v in self._record.tags.items() if k not in drop}
        self._record = self.workspace.store.update_model(self.name, self.version, tags=new)

    def add_properties(self, properties: Mapping[str, str]) -> None:
        """Properties are append-only, as in v1: a key keeps its first value."""
        incoming = _str_dict(properties, "properties")
        clash = [k for k, v in incoming.items() if self._record.properties.get(k, v) != v]
        if clash:
            raise InvalidArgument(
                f"Property {clash[0]!r} of model {self.id} is already set; properties cannot be "
                "changed once added.",
                hint="Use a tag for values that change.",
            )
        new = {**self._record.properties, **incoming}
        self._record = self.workspace.store.update_model(self.name, self.version, properties=new)

    def update(
        self,
        tags: Mapping[str, str] | None = None,
        description: str | None = None,
        **_unused: Any,
    ) -> None:
        self._record = self.workspace.store.update_model(
            self.name,
            self.version,
            description=description,
            tags=_str_dict(tags, "tags") if tags is not None else None,
        )

    def delete(self) -> None:
        """Delete this version and free its files that no other model or dataset version
        uses (blobs other versions share stay); refused while something (a service) uses it."""
        users = self.workspace.model_users(self.id)
        if users:
            raise Conflict(
                f"Model {self.id} is used by {', '.join(users)}.",
                hint="Delete or update those first.",
            )
        self.workspace.store.delete_model(self.name, self.version)
        free_version(self.workspace, self.name, self.version, self.files)

    # -- files -------------------------------------------------------------------------
    def download(
        self,
        target_dir: str | os.PathLike[str] = ".",
        exist_ok: bool = False,
        exists_ok: bool | None = None,
    ) -> str:
        """Copy the files into `target_dir` (verified against their hashes); return the path."""
        if exists_ok is not None:
            exist_ok = exists_ok
        target = Path(target_dir)
        if target.exists() and not target.is_dir():
            raise InvalidArgument(f"Download target {target} exists and is not a folder.")
        root = target / self._record.root_name
        plan = [(entry, self._dest(root, entry)) for entry in self.files]
        if not exist_ok:
            existing = [dest for _, dest in plan if dest.exists()]
            if existing:
                raise InvalidArgument(
                    f"{existing[0]} already exists; downloading model {self.id} would overwrite it.",
                    hint="Choose an empty --target-dir, or pass exist_ok=True to overwrite.",
                )
        for entry in self.files:
            self.workspace.artifacts.verify(entry)
        self.workspace.artifacts.copy_many(plan, owner=f"Model {self.id}")
        return str(root)

    def _dest(self, root: Path, entry: FileEntry) -> Path:
        return root if not self._record.is_dir else root / entry.path

    def materialize(self, base: Path) -> Path:
        """Lay the version out as `base/name/version/<root>` with verified read-only hard links."""
        final = base / self.name / str(self.version)
        top = Path(self._record.root_name)
        plan = [(entry, self._dest(top, entry)) for entry in self.files]
        self.workspace.artifacts.materialize(final, plan, owner=f"Model {self.id}")
        return final / top

    def serialize(self) -> dict[str, Any]:
        data = self._record.to_dict()
        data["id"] = self.id
        data["created_time"] = self.created_time.isoformat()
        data["size"] = self.size
        return data

    def __repr__(self) -> str:
        return f"Model(workspace={self.workspace!r}, name={self.name!r}, id={self.id!r}, version={self.version})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Model) and (other.workspace.path, other.id) == (
            self.workspace.path,
            self.id,
        )

    def __hash__(self) -> int:
        return hash((str(self.workspace.path), self.id))


def resolve_models(
    workspace: Workspace, models: Sequence[Model | str] | None, holder: str = "service"
) -> builtins.list[Model]:
    """Models (or 'name:version' ids) as registered now, checked: one version per name."""
    if isinstance(models, str | Model):
        raise InvalidArgument(f"models must be a list, e.g. [model], for a {holder}.")
    resolved: builtins.list[Model] = []
    for item in models or []:
        if isinstance(item, Model):  # still registered?
            resolved.append(type(item)(workspace, item.name, version=item.version))
        else:
            resolved.append(Model(workspace, id=str(item)))
    names = [m.name for m in resolved]
    if len(set(names)) != len(names):
        raise InvalidArgument(f"A {holder} cannot hold two versions of the same model.")
    return resolved


def _lookup(
    workspace: Workspace,
    name: str | None,
    model_id: str | None,
    tags: Any,
    properties: Any,
    version: int | str | None,
    run_id: str | None,
) -> ModelRecord:
    if model_id is not None:
        name, parsed = parse_model_id(model_id)
        version = parsed if parsed is not None else version
    if name is None:
        raise InvalidArgument("Model(...) needs a name or an id ('name:version').")
    if version is not None and not isinstance(version, int):
        text = str(version)
        if not text.isdigit():
            raise InvalidArgument(f"Invalid model version {version!r}: use a positive integer.")
        version = int(text)
    if tags is None and properties is None and run_id is None:
        return workspace.store.get_model(name, version)
    matches = Model.list(
        workspace, name=name, tags=_as_seq(tags), properties=_as_seq(properties), run_id=run_id
    )
    matches = [m for m in matches if version is None or m.version == version]
    if not matches:
        raise NotFound(f"No version of model '{name}' matches the given tags/properties/run_id.")
    return max(matches, key=lambda m: m.version)._record


def _as_seq(value: Any) -> Sequence[Any] | None:
    if isinstance(value, Mapping):
        return [[k, v] for k, v in value.items()]
    return value  # type: ignore[no-any-return,unused-ignore]


def _filters(items: Sequence[Any] | None) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for item in items or ():
        if isinstance(item, str):
            key, sep, value = item.partition("=")
            out.append((key, value if sep else None))
        elif isinstance(item, list | tuple) and len(item) == 2:
            out.append((str(item[0]), str(item[1])))
        else:
            raise InvalidArgument(
                f"Invalid filter {item!r}: use 'key', 'key=value' or [key, value]."
            )
    return out


def _check_source(model_path: str | os.PathLike[str]) -> Path:
    if model_path is None or str(model_path).strip() == "":
        raise InvalidArgument(
            "model_path is empty.", hint="Pass the model file or folder to register."
        )
    source = Path(model_path).expanduser()
    if not source.exists():
        raise InvalidArgument(
            f"Model path {source} does not exist.",
            hint="Check the path to the model file or folder.",
        )
    if source.is_file() and source.stat().st_size == 0:
        raise InvalidArgument(f"Model file {source} is empty.", hint="Register a saved model file.")
    return source.resolve()


def _str_dict(values: Mapping[str, Any] | None, what: str) -> dict[str, str]:
    if values is None:
        return {}
    if not isinstance(values, Mapping):
        raise InvalidArgument(f"{what} must be a dict of strings, got {type(values).__name__}.")
    return {str(k): str(v) for k, v in values.items()}


def _dataset_ref(dataset: Any) -> str | None:
    if dataset is None:
        return None
    if isinstance(dataset, str):
        return dataset
    name = getattr(dataset, "name", None)
    version = getattr(dataset, "version", None)
    return f"{name}:{version}" if name else str(dataset)
