# Does nothing: the service's own overhead is all there is to measure.
def init():
    pass


def run(raw_data):
    return {"ok": True}
