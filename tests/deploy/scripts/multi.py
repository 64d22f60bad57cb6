# Two models in one service, found both ways v1 scripts find them.
import os

import joblib
from azureml.core.model import Model


def init():
    global first, second
    first = joblib.load(Model.get_model_path("first"))
    second_path = os.path.join(
        os.getenv("AZUREML_MODEL_DIR"), "second", "1", "sklearn_regression_model.pkl"
    )
    second = joblib.load(second_path)


def run(raw_data):
    import json

    data = json.loads(raw_data)["data"]
    return {"first": first.predict(data).tolist(), "second": second.predict(data).tolist()}
