"""`azureml.contrib.services.aml_response`: what `@rawhttp` scripts return."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response


class AMLResponse(Response):
    """`AMLResponse(body, status_code, response_headers={}, json_str=False)`.

    Header values holding commas become repeated headers, as in the reference.
    """

    default_mimetype = "text/html"  # Flask's default, which the reference inherits

    def __init__(
        self,
        message: Any,
        status_code: int,
        response_headers: Mapping[str, str] | None = None,
        json_str: bool = False,
        run_function_failed: bool = False,
    ) -> None:
        headers = dict(response_headers or {})
        if message is None:
            super().__init__(json.dumps({}), status=status_code, mimetype="application/json")
        elif json_str:
            super().__init__(json.dumps(message), status=status_code, mimetype="application/json")
        else:
            super().__init__(message, status=status_code)
            if "Content-Type" in headers:
                self.headers.remove("Content-Type")
        self.headers["x-ms-run-function-failed"] = str(run_function_failed)
        for name, value in headers.items():
            for part in str(value).split(","):
                self.headers.add_header(name, part.strip())
