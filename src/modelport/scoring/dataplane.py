"""The scoring core every protocol calls: authorize → admit → run with a timeout → verdict.

It knows nothing of HTTP routes or bodies: `/score` (the reference's protocol) and the V2
(Open Inference) protocol each parse their own request into run()'s keyword arguments, call
`DataPlane.infer`, and turn the `Verdict` into their own response shape in one place.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from modelport.scoring import metrics
from modelport.scoring.auth import Authenticator
from modelport.scoring.config import ServerConfig
from modelport.scoring.entry import EntryScript
from modelport.scoring.runner import ERROR, EXPIRED, OK, TIMEOUT, Runner
from modelport.scoring.schema import InputMismatch

log = logging.getLogger("modelport.scoring")

# What happened to a request, whichever protocol carried it.
SERVED, UNAUTHORIZED, BUSY, TIMED_OUT, WAITED_TOO_LONG, RUN_FAILED = (
    "served",
    "unauthorized",
    "busy",
    "timed_out",
    "waited_too_long",
    "run_failed",
)
_STATUS = {
    SERVED: 200,
    UNAUTHORIZED: 401,
    BUSY: 503,
    TIMED_OUT: 500,
    WAITED_TOO_LONG: 503,
    RUN_FAILED: 500,
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one request: `value` is run()'s result when served, else None;
    `message` says what went wrong in words a client can act on."""

    kind: str
    value: Any = None
    elapsed_ms: float = 0.0
    message: str = ""
    error: BaseException | None = None

    @property
    def status(self) -> int:
        return _STATUS[self.kind]


class DataPlane:
    """One worker's admission state around its runner (shared by every protocol)."""

    def __init__(
        self,
        config: ServerConfig,
        runner: Runner | None,
        slot: metrics.WorkerMetrics,
    ) -> None:
        self.config = config
        self.runner = runner
        self.metrics = slot
        self.auth = (
            Authenticator(config.auth_keys_file, config.token_secret_file)
            if config.auth_enabled
            else None
        )
        self.queue_limit = config.queue_limit
        self.pending = 0

    def authorize(self, authorization: bytes | None) -> Verdict | None:
        """None when the caller may score, else the UNAUTHORIZED verdict."""
        if self.auth is None:
            return None
        problem = self.auth.check(authorization)
        return None if problem is None else Verdict(UNAUTHORIZED, message=problem)

    def admit(self) -> Verdict | None:
        """None when this worker can take one more request, else the BUSY verdict."""
        if self.pending < self.queue_limit:
            return None
        self.metrics.add(metrics.S_REJECTED)
        return Verdict(
            BUSY,
            message=f"Server busy: {self.pending} requests are already queued in this worker; "
            "retry later.",
        )

    async def infer(self, kwargs: dict[str, Any], request_id: str = "") -> Verdict:
        """Run the script on `kwargs` (already admitted); never raises for the script's sake."""
        runner = self.runner
        assert runner is not None
        m = self.metrics
        self.pending += 1
        m.add(metrics.S_IN_FLIGHT)
        m.set(metrics.S_QUEUE, runner.waiting + 1)
        try:
            outcome = await runner.call(kwargs)
        finally:
            self.pending -= 1
            m.add(metrics.S_IN_FLIGHT, -1)
            m.set(metrics.S_QUEUE, runner.waiting)
        if outcome.kind == OK:
            return Verdict(SERVED, outcome.value, outcome.elapsed_ms)
        if outcome.kind == TIMEOUT:
            m.add(metrics.S_TIMEOUTS)
            timeout = self.config.scoring_timeout_ms
            log.error("run() timed out after %d ms", timeout, extra={"request_id": request_id})
            return Verdict(TIMED_OUT, message=f"Scoring timeout after {timeout} ms")
        if outcome.kind == EXPIRED:
            m.add(metrics.S_REJECTED)
            waited = f"{outcome.value * 1000:.0f}"
            return Verdict(
                WAITED_TOO_LONG,
                message=f"Request waited {waited} ms for the scoring script; retry later.",
            )
        assert outcome.kind == ERROR
        m.add(metrics.S_RUN_ERRORS)
        exc = outcome.value
        log.error(
            "run() raised %s: %s",
            type(exc).__name__,
            exc,
            exc_info=exc,
            extra={"request_id": request_id},
        )
        return Verdict(RUN_FAILED, message="The scoring script failed.", error=exc)


def script_arguments(
    script: EntryScript, payload: dict[str, Any]
) -> dict[str, Any] | tuple[int, str]:
    """run()'s keyword arguments from a decoded JSON object, through the script's
    inference_schema converters; (400, message) when a value is missing or mistyped."""
    kwargs: dict[str, Any] = {}
    converters = script.converters
    for param in script.params:
        name = param.name
        if name in payload:
            value = payload[name]
        elif param.default is not param.empty:
            value = param.default
        else:
            return 400, f"A value is not provided for the {name!r} parameter."
        convert = converters.get(name)
        if convert is not None:
            try:
                value = convert(value)
            except InputMismatch as exc:
                return 400, str(exc)
        kwargs[name] = value
    return kwargs
