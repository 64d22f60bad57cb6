import os


def init():
    pass


def run(raw_data):
    return {"echo": raw_data, "revision": os.environ.get("ECHO_REVISION", "1")}
