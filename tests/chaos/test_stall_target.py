"""Where a targeted check-in stall sends its check-in (chaos.driver.stall_check_in_target).

Seed 83 (9d43e4a) could not apply a targeted stall at t 305 s: the client believed seven sessions
open, and all twelve tries answered ``session_full`` (admissions whose answers were lost had
filled them unseen). A pure function of the client's view, tested on its own.
"""

import random

from chaos.driver import Participant, SessionPlan, stall_check_in_target

PEOPLE = [Participant(id=f"p{i}", ticket_code=f"T{i}") for i in range(12)]


def _plan(sid, kind, inside, capacity=3, wave=0):
    return SessionPlan(sid, capacity, kind, wave, candidates=PEOPLE, inside=set(inside))


def test_a_fill_session_with_one_place_left_is_preferred_and_a_session_that_answered_full_skipped():
    plans = [
        _plan("a", "fill", {"p0", "p1"}),
        _plan("b", "fill", {"p2", "p3"}),
        _plan("c", "fill", set()),
    ]

    for seed in range(20):
        plan, person, freeing = stall_check_in_target(
            plans, wave=0, leased=set(), full=frozenset({"a"}), rng=random.Random(seed)
        )
        assert (plan.id, freeing) == ("b", None)
        assert person.id not in plan.inside


def test_after_three_full_answers_a_churn_session_gets_a_place_freed_first():
    churn = _plan("c", "churn", {"p0", "p1", "p2"})
    plans = [_plan("a", "fill", {"p3"}), churn, _plan("d", "fill", set())]

    plan, person, freeing = stall_check_in_target(
        plans, wave=0, leased=set(), full=frozenset({"x", "y", "z"}), rng=random.Random(1)
    )

    assert plan is churn
    assert freeing in churn.inside  # someone this client saw admitted leaves first
    assert person.id not in churn.inside


def test_nothing_fits_when_no_churn_session_has_anyone_to_free_or_it_is_leased():
    plans = [_plan("a", "fill", {"p0"}), _plan("c", "churn", {"p1"})]

    assert (
        stall_check_in_target(
            plans, wave=0, leased={"c"}, full=frozenset({"x", "y", "z"}), rng=random.Random(0)
        )
        is None
    )
