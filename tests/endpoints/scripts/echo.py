import os
import time


def init():
    pass


def run(raw_data):
    delay = float(os.environ.get("ECHO_DELAY_S", "0"))
    if delay:
        time.sleep(delay)
    return {"echo": raw_data, "revision": os.environ.get("ECHO_REVISION", "1")}
