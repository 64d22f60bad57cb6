"""The events process's work: fan the outbox out into the delivery log, deliver webhooks,
apply triggers.

Three loops, each restartable at any instant without losing work:
- fan-out reads events after the durable cursor "dispatcher" and, in one transaction,
  queues a delivery per interested webhook or trigger and moves the cursor;
- the webhook loop sends due pending deliveries (a few at once), marks a 2xx delivered and
  schedules anything else again with capped exponential back-off (failed after
  MODELPORT_WEBHOOK_MAX_ATTEMPTS); a delivery interrupted by a crash is still pending, so it
  is sent again: at least once;
- the trigger loop applies due trigger deliveries one at a time (each may deploy), the
  newest per service only: older pending versions for the same service are superseded.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from modelport import settings
from modelport.errors import NotFound
from modelport.events import triggers, webhooks
from modelport.registry.events import PENDING, DeliveryRecord

if TYPE_CHECKING:
    from modelport.workspace import Workspace

CURSOR = "dispatcher"
BATCH = 200


class Dispatcher:
    def __init__(self, workspace: Workspace, stop: threading.Event | None = None) -> None:
        self.workspace = workspace
        self.store = workspace.store
        self.stop = stop or threading.Event()
        self.poll = float(settings.get("MODELPORT_EVENTS_POLL_S"))
        self.max_attempts = int(settings.get("MODELPORT_WEBHOOK_MAX_ATTEMPTS"))

    def run(self) -> None:
        loops = [self._fan_out_once, self._webhooks_once, self._triggers_once]
        threads = [
            threading.Thread(target=self._loop, args=(fn,), name=fn.__name__, daemon=True)
            for fn in loops
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

    def _loop(self, step: object) -> None:
        assert callable(step)
        while not self.stop.is_set():
            try:
                busy = step()
            except Exception as exc:  # a database hiccup: log, wait, go on
                print(f"events: {getattr(step, '__name__', step)}: {exc}", flush=True)
                busy = False
            if not busy:
                self.stop.wait(self.poll)

    # -- fan-out ------------------------------------------------------------------------
    def _fan_out_once(self) -> bool:
        after = self.store.get_cursor(CURSOR)
        batch = self.store.read_events(after, BATCH)
        if not batch:
            return False
        hooks = webhooks.list_all(self.workspace)
        follows = triggers.list_all(self.workspace)
        queued: list[tuple[str, int]] = []
        for event in batch:
            queued += [
                (webhooks.SUBSCRIBER + h["id"], event.id) for h in hooks if webhooks.wants(h, event)
            ]
            queued += [
                (triggers.SUBSCRIBER + t["name"], event.id)
                for t in follows
                if triggers.wants(t, event)
            ]
        self.store.advance_cursor(CURSOR, batch[-1].id, queued)
        return len(batch) == BATCH

    # -- webhooks -----------------------------------------------------------------------
    def _webhooks_once(self) -> bool:
        due = self.store.due_deliveries(webhooks.SUBSCRIBER, time.time())
        if not due:
            return False
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(self._deliver, due))
        return True

    def _deliver(self, delivery: DeliveryRecord) -> None:
        webhook_id = delivery.subscriber[len(webhooks.SUBSCRIBER) :]
        try:
            doc = webhooks.get(self.workspace, webhook_id)
        except NotFound:
            self.store.update_delivery(
                delivery.id, status="failed", last_error="the webhook was deleted"
            )
            return
        event = self.store.get_event(delivery.event_id)
        outcome = webhooks.send(doc, event, delivery.id)
        attempts = delivery.attempts + 1
        if outcome.ok:
            self.store.update_delivery(
                delivery.id,
                status="delivered",
                attempts=attempts,
                last_status_code=outcome.status_code,
                last_error=None,
            )
            return
        gave_up = attempts >= self.max_attempts
        self.store.update_delivery(
            delivery.id,
            status="failed" if gave_up else PENDING,
            attempts=attempts,
            next_time=time.time() + webhooks.retry_delay(attempts),
            last_status_code=outcome.status_code,
            last_error=outcome.error,
        )

    # -- triggers -----------------------------------------------------------------------
    def _triggers_once(self) -> bool:
        due = self.store.due_deliveries(triggers.SUBSCRIBER, time.time())
        if not due:
            return False
        newest: dict[str, DeliveryRecord] = {}
        for delivery in sorted(due, key=lambda d: d.event_id):
            older = newest.get(delivery.subscriber)
            if older is not None:
                self.store.update_delivery(
                    older.id,
                    status=triggers.SKIPPED,
                    last_error=f"superseded by event {delivery.event_id}",
                )
            newest[delivery.subscriber] = delivery
        for delivery in newest.values():
            if self.stop.is_set():
                break
            service = delivery.subscriber[len(triggers.SUBSCRIBER) :]
            event = self.store.get_event(delivery.event_id)
            started = time.time()
            outcome, reason = triggers.apply(self.workspace, service, event)
            self.store.update_delivery(
                delivery.id,
                status=outcome,
                attempts=delivery.attempts + 1,
                last_error=reason,
                detail={"model": event.payload.get("id"), "seconds": time.time() - started},
            )
        return True
