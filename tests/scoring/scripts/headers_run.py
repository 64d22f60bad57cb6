"""Undecorated run(data, request_headers): receives the request headers as a dict."""


def init():
    pass


def run(data, request_headers):
    return {"data": data, "custom": request_headers.get("X-Custom"),
            "content_type": request_headers.get("Content-Type")}
