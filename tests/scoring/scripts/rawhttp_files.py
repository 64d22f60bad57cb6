"""@rawhttp script: multipart uploads, CORS headers, keyword AMLResponse, binary replies."""
import hashlib
import json

from azureml.contrib.services.aml_request import AMLRequest, rawhttp
from azureml.contrib.services.aml_response import AMLResponse


def init():
    pass


@rawhttp
def run(request):
    if request.method == "OPTIONS":
        resp = AMLResponse("", 200)
        resp.headers["Access-Control-Allow-Origin"] = "*"
        resp.headers["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        return resp
    if request.method == "GET":
        return AMLResponse(message=json.dumps(request.args.to_dict(flat=False)), status_code=200,
                           response_headers={"Content-Type": "application/json"})
    if request.files:
        out = {name: [hashlib.sha256(f.read()).hexdigest() for f in request.files.getlist(name)]
               for name in request.files}
        out["form"] = request.form.to_dict()
        resp = AMLResponse(out, 201, json_str=True)
        resp.headers["Access-Control-Allow-Origin"] = "http://www.example.com"
        return resp
    body = request.get_data()
    if request.headers.get("X-Want") == "image":
        return AMLResponse(body[::-1], 200, {"Content-Type": "image/png"})
    if request.headers.get("X-Want") == "error":
        return AMLResponse("model failed", 503)
    if request.headers.get("X-Want") == "json":
        return {"len": len(body), "json": request.get_json(silent=True)}
    return AMLResponse(body, 200)
