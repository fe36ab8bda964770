"""bench.profile_check_in's reading of py-spy's collapsed stacks, without a stack or py-spy."""

from collections import Counter

from bench.profile_check_in import (
    NO_FRAME,
    frame_name,
    package_of,
    parse_collapsed,
    tally,
    top_lines,
)

# py-spy 0.4 ``record --format raw --function``: root first, the count last; an empty stack when
# the sampled thread had no Python frame.
RAW = [
    "run (gunicorn/workers/gthread.py:90);handle (gunicorn/workers/gthread.py:270);"
    "APIView.dispatch (rest_framework/views.py:490);dumps (json/__init__.py:183) 6",
    "run (gunicorn/workers/gthread.py:90);handle (gunicorn/workers/gthread.py:270);"
    "APIView.dispatch (rest_framework/views.py:490) 3",
    "run (gunicorn/workers/gthread.py:90);f (x.py:1);f (x.py:1) 1",
    " 2",
    "",
]


def test_a_frame_is_named_by_its_path_and_function_without_the_line():
    assert frame_name("APIView.dispatch (rest_framework/views.py:490)") == (
        "rest_framework/views.py:APIView.dispatch"
    )
    full = "get (/work/.venv/lib/python3.11/site-packages/django/core/cache/backends/locmem.py:33)"
    assert frame_name(full) == "django/core/cache/backends/locmem.py:get"
    assert frame_name("_call (<frozen importlib._bootstrap>:233)") == (
        "<frozen importlib._bootstrap>:_call"
    )
    assert frame_name("") == NO_FRAME


def test_the_package_is_the_first_part_of_the_path():
    assert package_of("rest_framework/views.py:APIView.dispatch") == "rest_framework"
    assert package_of("threading.py:Thread.run") == "threading"
    assert package_of(NO_FRAME) == NO_FRAME


def test_own_time_is_the_top_frame_and_cumulative_counts_a_recursive_function_once():
    own, cumulative, packages, total = tally(parse_collapsed(RAW))
    assert total == 12
    assert own == Counter(
        {"json/__init__.py:dumps": 6, "rest_framework/views.py:APIView.dispatch": 3,
         "x.py:f": 1, NO_FRAME: 2}
    )  # fmt: skip
    assert cumulative["gunicorn/workers/gthread.py:run"] == 10
    assert cumulative["rest_framework/views.py:APIView.dispatch"] == 9
    assert cumulative["x.py:f"] == 1  # on the stack twice, one sample
    assert packages == Counter({"json": 6, "rest_framework": 3, "x": 1, NO_FRAME: 2})


def test_a_table_row_gives_the_share_and_the_milliseconds_per_request():
    lines = top_lines("By own time:", Counter({"a.py:f": 3, "b.py:g": 1}), 4, 0.5, top=1)
    assert lines[0] == "By own time:"
    assert lines[2:] == [" 75.0%   1.500  a.py:f"]
