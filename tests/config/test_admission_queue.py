"""Admission control's queue (core.middleware.AdmissionMiddleware): a burst waits for a slot, a
standing queue is refused at once (controlled delay).

Real threads through the middleware as Django calls it; the view behind it is a stand-in that
holds its slot until the test lets it go, so no timing decides who holds what.
"""

import threading
import time

import pytest
from django.http import HttpResponse
from django.test import RequestFactory

from core.middleware import AdmissionMiddleware

LONG_WAIT_S = 5.0  # WEB_ADMISSION_WAIT_SECONDS here: a refusal well under it was not that wait


@pytest.fixture
def one_slot(settings):
    settings.WEB_MAX_CONCURRENT_REQUESTS = 1
    settings.WEB_ADMISSION_WAIT_SECONDS = LONG_WAIT_S
    settings.WEB_ADMISSION_QUEUE_INTERVAL_SECONDS = 0.1
    settings.WEB_ADMISSION_QUEUE_TARGET_SECONDS = 0.005


class _HeldView:
    """The view behind the middleware: each call holds its slot until ``release`` is set."""

    threads: list[threading.Thread]

    def __init__(self):
        self.entered = threading.Semaphore(0)
        self.release = threading.Event()
        self.threads = []

    def __call__(self, request):
        self.entered.release()
        self.release.wait(30)
        return HttpResponse(status=201)


def _post(middleware, answers: list):
    request = RequestFactory().post(
        "/api/sessions/x/check-in/", {}, content_type="application/json"
    )
    answers.append(middleware(request).status_code)


@pytest.fixture
def view():
    """The held view; at the end every write is let go, so no slot outlives the test."""
    held = _HeldView()
    yield held
    held.release.set()
    for thread in held.threads:
        thread.join(LONG_WAIT_S * 2)


def _start(middleware, answers: list) -> threading.Thread:
    thread = threading.Thread(target=_post, args=(middleware, answers), daemon=True)
    thread.start()
    middleware.get_response.threads.append(thread)
    return thread


def test_a_write_arriving_behind_a_standing_queue_is_refused_at_once(one_slot, view):
    middleware = AdmissionMiddleware(view)
    holder_answers, waiter_answers, late_answers = [], [], []
    holder = _start(middleware, holder_answers)
    assert view.entered.acquire(timeout=10), "the first write never got the slot"
    waiter = _start(middleware, waiter_answers)  # queues: the slot is held
    time.sleep(0.3)  # the queue has not emptied for 0.3 s: longer than the 0.1 s interval
    assert waiter.is_alive()

    started = time.monotonic()
    _post(middleware, late_answers)
    refused_after = time.monotonic() - started

    assert late_answers == [503]  # busy
    assert refused_after < LONG_WAIT_S / 2, f"it waited {refused_after:.2f} s for a slot"
    assert waiter.is_alive(), "the write already waiting lost its wait"
    view.release.set()
    holder.join(10)
    waiter.join(10)
    assert (holder_answers, waiter_answers) == ([201], [201])  # the waiter got the freed slot


def test_a_burst_waits_for_a_slot_instead_of_being_refused(one_slot, view):
    """Unchanged behaviour, kept: a queue younger than the interval waits the whole wait."""
    middleware = AdmissionMiddleware(view)
    answers: list[int] = []
    holder = _start(middleware, answers)
    assert view.entered.acquire(timeout=10)
    burst = [_start(middleware, answers) for _ in range(2)]  # arrive together: a young queue
    time.sleep(0.05)  # within the interval: nobody has waited long
    view.release.set()  # the holder leaves; the two waiting writes get the slot in turn
    for thread in [holder, *burst]:
        thread.join(LONG_WAIT_S * 2)
    assert sorted(answers) == [201, 201, 201]
