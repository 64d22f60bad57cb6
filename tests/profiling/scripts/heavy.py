# Holds ~400 MB from init() and burns ~20 ms of pure-Python CPU per request.
import time

blob = None


def init():
    global blob
    blob = b"x" * (400 * 1024 * 1024)  # bytes * n writes every page: resident, not just reserved


def run(raw_data):
    end = time.process_time() + 0.02
    n = 0
    while time.process_time() < end:
        n += 1
    return {"spins": n, "held": len(blob)}
