"""Two models: AZUREML_MODEL_DIR/<name>/<version>/... and Model.get_model_path."""
import os

import joblib
from azureml.core.model import Model


def init():
    global models, paths
    paths = {
        "ridge_a": Model.get_model_path("ridge_a"),
        "ridge_b": Model.get_model_path("ridge_b", version=1),
        "via_env": os.path.join(os.getenv("AZUREML_MODEL_DIR"), "ridge_a", "2", "model.pkl"),
    }
    models = {name: joblib.load(p) for name, p in paths.items()}


def run(raw_data):
    import json

    data = json.loads(raw_data)["data"]
    return {name: m.predict(data).tolist() for name, m in models.items()} | {
        "files": {name: os.path.basename(p) for name, p in paths.items()}
    }
