"""run() can take its worker process down, to test restarts."""
import os


def init():
    pass


def run(raw_data):
    if raw_data == "crash":
        os._exit(17)
    return {"pid": os.getpid()}
