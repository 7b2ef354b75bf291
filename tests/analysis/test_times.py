"""Per-turn marks and spans relative to the end of input: the same derivation as the metrics."""

from __future__ import annotations

import pytest

from rtnb.analysis import MetricsTable, compute_turns, times_from_turn, turn_times
from tests.logscript import early_answer, three_turns


def test_turn_times_match_metrics():
    log = three_turns()
    rows = turn_times(log)
    turns = compute_turns(log.entries)
    assert len(rows) == len(turns) == 3
    for row, turn in zip(rows, turns, strict=True):
        assert row.marks["first_audio"] == pytest.approx(turn.e2e)
    assert rows[0].marks == pytest.approx({"end_of_turn": 530.0, "committed": 531.0,
                                           "transcribed": 560.0, "created": 531.0,
                                           "first_audio": 640.0})
    assert rows[1].spans == [("tool", "get_weather", pytest.approx(50.0), pytest.approx(125.0)),
                             ("handoff", "billing", pytest.approx(200.0), pytest.approx(450.0))]
    spans = {kind: (a, b) for kind, _, a, b in rows[2].spans}
    assert spans["supervisor"] == pytest.approx((730.0, 1530.0))
    assert spans["tool"] == pytest.approx((720.0, 1531.0))
    assert spans["filler_gap"] == pytest.approx((1300.0, 1650.0))  # filler ends 7.3 → 7.65
    assert turns[2].barge_in == pytest.approx(150.0)




def test_times_from_a_table_are_placed_from_durations():
    turns = compute_turns(three_turns().entries)
    rows = [times_from_turn(t) for t in MetricsTable(turns).turns]
    assert all(r.approximate for r in rows)
    assert rows[0].marks == pytest.approx({"end_of_turn": 530.0, "committed": 530.0,
                                           "transcribed": 559.0, "first_audio": 640.0,
                                           "created": 531.0})
    # the handoff ends at first audio (450), the tool before it
    assert rows[1].spans == [("handoff", "handoff", pytest.approx(200.0), pytest.approx(450.0)),
                             ("tool", "get_weather", pytest.approx(125.0), pytest.approx(200.0))]


def test_a_filler_answered_in_time_draws_no_gap():
    (row,) = turn_times(early_answer().log.entries)
    assert row.turn.filler_gap == 0.0
    assert [k for k, *_ in row.spans] == ["supervisor"]
