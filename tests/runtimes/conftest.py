"""Tiny models trained on the spot, and a workspace whose services are deleted at teardown."""

from __future__ import annotations

from pathlib import Path

import joblib
import numpy as np
import pytest

from modelport.core import Workspace

X = np.random.default_rng(0).normal(size=(80, 4))
Y = X @ np.array([1.0, -2.0, 0.5, 3.0])


@pytest.fixture
def rws(service_ws: Workspace) -> Workspace:
    return service_ws


@pytest.fixture
def forest_file(tmp_path: Path) -> Path:
    from sklearn.ensemble import RandomForestRegressor

    path = tmp_path / "forest.pkl"
    joblib.dump(RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(X, Y), path)
    return path


@pytest.fixture
def onnx_file(tmp_path: Path) -> Path:
    from skl2onnx import to_onnx
    from sklearn.linear_model import LinearRegression

    model = LinearRegression().fit(X.astype(np.float32), Y)
    path = tmp_path / "linear.onnx"
    path.write_bytes(to_onnx(model, X[:1].astype(np.float32), target_opset=17).SerializeToString())
    return path
