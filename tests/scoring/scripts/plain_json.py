"""Undecorated run that parses JSON itself and returns numpy scalars in a dict."""
import json

import numpy as np


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    if data.get("fail"):
        raise ValueError("asked to fail")
    arr = np.asarray(data["data"], dtype=float)
    return {"sum": np.float64(arr.sum()), "count": np.int64(arr.size), "json": json.dumps({"a": 1})}
