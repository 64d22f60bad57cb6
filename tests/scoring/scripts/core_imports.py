# Imports some published score.py files use: the package-level names and an offline run.
from azureml.core import Model
from azureml.core.run import Run


def init():
    global model_path
    Run.get_context().log("init", 1)
    model_path = Model.get_model_path("ridge")


def run(raw_data):
    Run.get_context().log("requests", 1)
    return {"model": model_path.split("/")[-3:], "offline": Run.get_context().id}
