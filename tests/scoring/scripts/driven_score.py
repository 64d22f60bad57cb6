def init():
    global ready
    ready = True


def run(raw_data):
    return {"driven": ready, "raw": raw_data}
