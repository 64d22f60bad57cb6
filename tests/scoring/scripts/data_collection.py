"""azureml.monitoring.ModelDataCollector: inputs and predictions written as rows."""
import json

from azureml.monitoring import ModelDataCollector


def init():
    global inputs_dc, prediction_dc
    inputs_dc = ModelDataCollector("ridge", designation="inputs", feature_names=["a", "b", "c"])
    prediction_dc = ModelDataCollector("ridge", designation="predictions", feature_names=["y"])


def run(raw_data):
    data = json.loads(raw_data)["data"]
    inputs_dc.collect(data)
    preds = [sum(row) for row in data]
    prediction_dc.collect(preds)
    return preds
