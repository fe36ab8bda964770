"""model_copy: a copy of a model instance as pickling gives, without pickling."""

import pickle

from bson import ObjectId
from django.contrib.auth import get_user_model
from rest_framework.authtoken.models import Token

from core.process_cache import model_copy


def _kept():
    user = get_user_model()(pk=ObjectId(), username="door", is_staff=True)
    user._perm_cache, user._user_perm_cache = frozenset({"a.b"}), {"c.d"}
    token = Token(key="k" * 40, user=user)  # token.user in the token's field cache
    for instance in (user, token):  # as read from the database
        instance._state.adding, instance._state.db = False, "default"
    return user, token


def test_a_copy_has_what_a_pickled_copy_has():
    user, token = _kept()
    copied, pickled = model_copy(token), pickle.loads(pickle.dumps(token))
    assert {k: v for k, v in vars(copied).items() if k != "_state"} == {
        k: v for k, v in vars(pickled).items() if k not in ("_state", "_django_version")
    }
    assert vars(copied._state) == vars(pickled._state) | {"fields_cache": {"user": user}}
    assert type(copied) is Token and copied.user is user  # related instances are shared


def test_a_copy_has_its_own_state_field_cache_and_sets_and_shares_frozen_ones():
    user, _token = _kept()
    copied = model_copy(user)
    copied.username, copied._state.adding = "changed", True
    copied._state.fields_cache["x"] = 1
    copied._user_perm_cache.add("e.f")
    assert user.username == "door" and user._state.adding is False
    assert "x" not in user._state.fields_cache and user._user_perm_cache == {"c.d"}
    assert copied._perm_cache is user._perm_cache  # a frozenset: shared, it cannot change
