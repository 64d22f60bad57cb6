"""run() raises for some inputs and sleeps for others (timeouts)."""
import json
import time


def init():
    pass


def run(raw_data):
    data = json.loads(raw_data)
    if data.get("sleep"):
        time.sleep(float(data["sleep"]))
        return "slept"
    if data.get("raise"):
        raise RuntimeError("boom from run")
    if data.get("catch"):
        try:
            raise ValueError("handled")
        except Exception as e:
            return str(e)
    return data
