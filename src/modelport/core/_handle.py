"""`ServingHandle`: what a service handle (`Webservice`) and an endpoint handle (`Endpoint`)
share: the recorded metadata, the live state, waiting for a deployment and the key/token
refusals. Each says only where its state, keys and tokens come from; the v1 signatures are
written once, here."""

from __future__ import annotations

import sys
import time
from datetime import datetime
from pathlib import Path
from typing import ClassVar

from modelport.deploy.states import HEALTHY, TRANSITIONING
from modelport.errors import AuthNotEnabled, WebserviceException
from modelport.registry.documents import StoredDocument


class ServingHandle(StoredDocument):
    """Subclasses set `_NOUN` ("Service", "Endpoint"), the auth hints, and implement
    `_live_state`, `_keys`, `_regen`, `_token`."""

    _NOUN: ClassVar[str]
    _KEY_HINT: ClassVar[str]
    _TOKEN_HINT: ClassVar[str]
    name: str

    # -- what differs -------------------------------------------------------------------
    def _live_state(self) -> tuple[str, str | None]:
        raise NotImplementedError

    def _keys(self) -> tuple[str, str]:
        raise NotImplementedError

    def _regen(self, key: str, set_key: str | None) -> None:
        raise NotImplementedError

    def _token(self) -> tuple[str, datetime]:
        raise NotImplementedError

    def _new_log(self, offset: int) -> tuple[str, int]:
        """Log text written since `offset` (for `show_output`), and the new offset."""
        return "", offset

    def _failure_detail(self) -> str:
        """What a failed deployment's error adds after its state."""
        return ""

    @property
    def auth_enabled(self) -> bool:
        raise NotImplementedError

    @property
    def token_auth_enabled(self) -> bool:
        raise NotImplementedError

    # -- recorded metadata ----------------------------------------------------------------
    @property
    def folder(self) -> Path:
        """The folder on this machine where its files are kept."""
        return Path(self._doc["home"])

    @property
    def description(self) -> str | None:
        return self._doc.get("description")

    @property
    def tags(self) -> dict[str, str]:
        return dict(self._doc.get("tags") or {})

    @property
    def created_time(self) -> datetime:
        return datetime.fromtimestamp(self._doc["created_time"]).astimezone()

    @property
    def state(self) -> str:
        return self._live_state()[0]

    @property
    def error(self) -> str | None:
        return self._live_state()[1]

    # -- lifecycle ------------------------------------------------------------------------
    def wait_for_deployment(
        self, show_output: bool = False, timeout_sec: float | None = None
    ) -> None:
        """Block until it is Healthy; raise (with what went wrong) if it ends otherwise."""
        deadline = time.monotonic() + (timeout_sec or 900)
        last = None
        offset = getattr(self, "_log_shown", 0)
        while True:
            self._refresh()
            state, error = self._live_state()
            if show_output:
                text, offset = self._new_log(offset)
                if text:
                    sys.stdout.write(text)
                if state != last:
                    print(f"{self.name}: {state}" + (f" ({error})" if error else ""), flush=True)
                    last = state
            if state != TRANSITIONING:
                break
            if time.monotonic() > deadline:
                raise WebserviceException(
                    f"{self._NOUN} '{self.name}' is still {state} after {timeout_sec}s."
                )
            time.sleep(0.05)
        if state != HEALTHY:
            raise WebserviceException(
                f"{self._NOUN} '{self.name}' deployment ended in state {state}: {error}."
                + self._failure_detail()
            )

    # -- auth -----------------------------------------------------------------------------
    def _require_keys(self) -> None:
        if not self.auth_enabled:
            raise AuthNotEnabled(
                f"Key auth is not enabled on {self._NOUN.lower()} '{self.name}'.",
                hint=self._KEY_HINT,
            )

    def get_keys(self) -> tuple[str, str]:
        self._require_keys()
        return self._keys()

    def regen_key(self, key: str, set_key: str | None = None) -> None:
        self._require_keys()
        self._regen(key, set_key)

    def get_token(self) -> tuple[str, datetime]:
        """(token, refresh_after): a signed JWT; request a new one after `refresh_after`."""
        if not self.token_auth_enabled:
            raise AuthNotEnabled(
                f"Token auth is not enabled on {self._NOUN.lower()} '{self.name}'.",
                hint=self._TOKEN_HINT,
            )
        return self._token()
