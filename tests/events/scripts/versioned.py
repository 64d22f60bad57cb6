import json
import os


def init():
    global model
    with open(os.path.join(os.getenv("AZUREML_MODEL_DIR"), "model.json")) as f:
        model = json.load(f)
    if model.get("init_fails"):
        raise RuntimeError("this version cannot load")


def run(raw_data):
    if model.get("run_fails") and "smoke" in raw_data:
        raise ValueError("this version breaks on the smoke data")
    return {"version": model["version"]}
