"""`azureml.monitoring`: a ModelDataCollector that really writes the collected rows.

Rows go to `$MODELPORT_DATA_COLLECTION_DIR/<service>/<model>/<designation>/<yyyy>/<mm>/<dd>/data.csv`
(default dir `<app root>/data-collection`), one CSV per day with a `$timestamp,$corrId,...`
header, appended under a file lock so several worker processes can share it.
Set `AML_MODEL_DC_STORAGE_ENABLED=false` to turn collection off.
"""

from __future__ import annotations

import csv
import datetime as _dt
import fcntl
import io
import os
import uuid
from collections.abc import Sequence
from typing import Any

from modelport import settings


class ModelDataCollector:
    """`ModelDataCollector(model_name, designation="default", feature_names=None, ...)`."""

    def __init__(
        self,
        model_name: str,
        designation: str = "default",
        feature_names: Sequence[str] | None = None,
        workspace: str | None = None,
        webservice_name: str | None = None,
        model_version: str | None = None,
        **_ignored: Any,
    ) -> None:
        self.model_name = model_name
        self.designation = designation
        self.feature_names = list(feature_names) if feature_names else None
        self.webservice_name = webservice_name or os.environ.get("SERVICE_NAME", "service")
        self.model_version = model_version
        flag = os.environ.get("AML_MODEL_DC_STORAGE_ENABLED", "true").strip().lower()
        self.enabled = flag not in ("false", "0", "no", "off")
        root = settings.get("MODELPORT_DATA_COLLECTION_DIR") or os.path.join(
            os.environ.get("AML_APP_ROOT", os.getcwd()), "data-collection"
        )
        self.root = root

    def collect(self, input_data: Any, user_correlation_id: str | None = None) -> str:
        """Append the rows of `input_data`; returns the correlation id written with them."""
        corr_id = user_correlation_id or str(uuid.uuid4())
        if not self.enabled:
            return corr_id
        rows = _rows(input_data)
        now = _dt.datetime.now(_dt.UTC)
        width = max((len(r) for r in rows), default=0)
        names = self.feature_names or [f"feature_{i}" for i in range(width)]
        folder = os.path.join(
            self.root,
            _safe(self.webservice_name),
            _safe(self.model_name),
            _safe(self.designation),
            f"{now:%Y}",
            f"{now:%m}",
            f"{now:%d}",
        )
        os.makedirs(folder, exist_ok=True)
        stamp = now.isoformat()
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        for row in rows:
            writer.writerow([stamp, corr_id, *row])
        path = os.path.join(folder, "data.csv")
        with open(path, "a", encoding="utf-8") as f:
            fcntl.flock(f, fcntl.LOCK_EX)
            try:
                if f.tell() == 0:
                    f.write(",".join(["$timestamp", "$corrId", *names]) + "\n")
                f.write(buf.getvalue())
            finally:
                fcntl.flock(f, fcntl.LOCK_UN)
        return corr_id


def _rows(data: Any) -> list[list[Any]]:
    if hasattr(data, "to_numpy") and hasattr(data, "columns"):  # pandas DataFrame
        data = data.to_numpy().tolist()
    elif hasattr(data, "tolist"):  # numpy arrays and scalars
        data = data.tolist()
    if isinstance(data, dict):
        return [list(data.values())]
    if isinstance(data, list | tuple):
        if all(isinstance(r, list | tuple) for r in data):
            return [list(r) for r in data]
        return [[v] for v in data]
    return [[data]]


def _safe(part: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in str(part)) or "_"
