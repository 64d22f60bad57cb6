# A v1 entry script (its azureml imports resolve inside a modelport service unchanged).
import json
import os

import joblib
from azureml.core.model import Model
from helper import SCALE


def init():
    global model, note
    model = joblib.load(Model.get_model_path("sklearn_regression"))
    with open(os.path.join(os.path.dirname(os.path.realpath(__file__)), "note.txt")) as f:
        note = f.read().strip()


def run(raw_data):
    data = json.loads(raw_data)["data"]
    return {"note": note, "prediction": [SCALE * p for p in model.predict(data).tolist()]}
