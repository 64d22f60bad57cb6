"""One model: the AZUREML_MODEL_DIR file and Model.get_model_path('ridge') agree; cwd is the app root."""
import os

import joblib
from azureml.core.model import Model
from helper_module import double


def init():
    global model, via_sdk, cwd, note
    via_sdk = Model.get_model_path("ridge")
    model = joblib.load(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl"))
    cwd = os.getcwd()
    with open("note.txt") as f:  # relative to the app root
        note = f.read().strip()


def run(raw_data):
    import json

    data = json.loads(raw_data)["data"]
    return {"pred": model.predict(data).tolist(), "sdk": os.path.basename(via_sdk),
            "same": os.path.samefile(via_sdk, os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.pkl")),
            "cwd": cwd, "note": note, "double": double(2)}
