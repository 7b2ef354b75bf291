"""The response lifecycle: transition table and properties."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtnb.engine.responses import (
    TERMINAL,
    Cancel,
    Close,
    Finish,
    InvalidTransition,
    Open,
    ResponseState,
    Stop,
    transition,
)

OPEN_A = ResponseState(open_items=("a",), n_items=1)


@pytest.mark.parametrize(
    ("state", "event", "phase"),
    [
        (ResponseState(), Open("a"), "in_progress"),
        (OPEN_A, Close("a"), "in_progress"),
        (ResponseState(), Finish(), "completed"),
        (OPEN_A, Cancel("turn_detected"), "cancelled"),
        (ResponseState(), Cancel("client_cancelled"), "cancelled"),
        (OPEN_A, Stop("incomplete", "max_output_tokens"), "incomplete"),
        (OPEN_A, Stop("failed", "boom"), "failed"),
    ],
)
def test_allowed(state, event, phase):
    assert transition(state, event).phase == phase


@pytest.mark.parametrize(
    ("state", "event"),
    [
        (OPEN_A, Finish()),  # open items must close first
        (OPEN_A, Open("a")),
        (ResponseState(), Close("a")),
        (ResponseState(phase="completed"), Cancel("client_cancelled")),
        (ResponseState(phase="cancelled"), Finish()),
        (ResponseState(phase="failed"), Open("b")),
    ],
)
def test_refused(state, event):
    with pytest.raises(InvalidTransition):
        transition(state, event)


events = st.one_of(
    st.builds(Open, st.sampled_from("abc")),
    st.builds(Close, st.sampled_from("abc")),
    st.just(Finish()),
    st.builds(Cancel, st.sampled_from(["turn_detected", "client_cancelled"])),
    st.builds(Stop, st.sampled_from(["incomplete", "failed"]), st.just("x")),
)


@given(st.lists(events, max_size=30))
def test_exactly_one_terminal_phase(seq):
    state = ResponseState()
    terminal_hits = 0
    for ev in seq:
        try:
            new = transition(state, ev)
        except InvalidTransition:
            continue
        if new.phase in TERMINAL:
            terminal_hits += 1
            assert new.open_items == ()  # a finished response has no open items
        state = new
    assert terminal_hits <= 1
    if state.phase == "in_progress":
        # A cancel always ends a live response: every response.created gets a done.
        assert transition(state, Cancel("client_cancelled")).phase == "cancelled"
