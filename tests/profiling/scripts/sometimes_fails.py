# Fails every request whose body asks it to, with a 500 the profiler must count.
def init():
    pass


def run(raw_data):
    if "fail" in raw_data:
        raise ValueError("asked to fail")
    return {"ok": True}
