"""WebRTC calls without models: the output audio buffer, offer parsing, ICE addresses, CORS."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rtnb.engine.calls import CallError, parse_offer
from rtnb.engine.playout import FRAME_BYTES, BufferEvent, Cut, Playout

SDP = "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"


def ms(n: float) -> bytes:
    return b"\x01\x00" * int(24 * n)


def pull_all(p: Playout, frames: int) -> list[BufferEvent]:
    events = []
    for _ in range(frames):
        events += p.pull()[1]
    return events


# -- lifecycle: one table row per situation ------------------------------------------------------

def test_started_on_first_frame_stopped_once_done_and_drained():
    p = Playout()
    p.push("r1", "i1", ms(60))
    frame, events = p.pull()
    assert events == [BufferEvent("started", "r1")] and frame == ms(20)
    assert pull_all(p, 5) == []  # drained, but the response may still push audio
    assert p.finish("r1") == [BufferEvent("stopped", "r1")]
    assert p.played_ms("i1") == 60


def test_stopped_waits_for_queued_audio_after_the_response_is_done():
    p = Playout()
    p.push("r1", "i1", ms(100))
    p.pull()
    assert p.finish("r1") == []
    assert pull_all(p, 4) == [BufferEvent("stopped", "r1")]


def test_back_to_back_responses_stop_then_start():
    p = Playout()
    p.push("r1", "i1", ms(20))
    p.finish("r1")
    p.push("r2", "i2", ms(40))
    events = pull_all(p, 3)
    assert events == [BufferEvent("started", "r1"), BufferEvent("stopped", "r1"),
                      BufferEvent("started", "r2")]


def test_frames_are_silence_padded_and_split_across_items():
    p = Playout()
    p.push("r1", "i1", ms(10))
    frame, _ = p.pull()
    assert len(frame) == FRAME_BYTES and frame == ms(10) + bytes(FRAME_BYTES // 2)


def test_clear_everything_cuts_each_item_at_its_played_position():
    p = Playout()
    p.push("r1", "i1", ms(200))
    pull_all(p, 3)
    events, cuts = p.clear()
    assert events == [BufferEvent("cleared", "r1")]
    assert cuts == [Cut("i1", 60)]
    assert p.buffered_ms == 0 and p.playing is None
    p.push("r1", "i1", ms(100))  # late audio of a cut response is not played
    assert p.pull() == (bytes(FRAME_BYTES), [])


def test_clear_with_nothing_playing_sends_nothing():
    assert Playout().clear() == ([], [])
    p = Playout()
    p.push("r1", "i1", ms(20))
    pull_all(p, 1)
    p.finish("r1")
    assert p.clear() == ([], [])  # already stopped


def test_cancel_of_one_response_keeps_the_others_audio():
    p = Playout()
    p.push("r1", "i1", ms(40))
    p.push("r2", "i2", ms(40))
    events, cuts = p.clear("r2")
    assert events == [BufferEvent("cleared", "r2")] and cuts == [Cut("i2", 0)]
    assert p.buffered_ms == 40
    p.push("r2", "i2", ms(40))
    assert p.buffered_ms == 40


def test_cancel_of_a_response_that_had_no_audio_is_silent():
    p = Playout()
    assert p.clear("r9") == ([], [])


def test_truncated_item_stops_playing():
    p = Playout()
    p.push("r1", "i1", ms(100))
    pull_all(p, 1)
    events, _ = p.clear(item_id="i1")
    assert events == [BufferEvent("cleared", "r1")] and p.buffered_ms == 0
    p.push("r1", "i1", ms(100))
    assert p.buffered_ms == 0


@given(st.lists(st.one_of(
    st.tuples(st.just("push"), st.sampled_from("abc"), st.integers(1, 120)),
    st.tuples(st.just("pull"), st.integers(1, 8)),
    st.tuples(st.just("finish"), st.sampled_from("abc")),
    st.tuples(st.just("clear"), st.sampled_from(["a", "b", "c", None])),
), max_size=40))
def test_played_never_exceeds_pushed_and_events_pair_up(ops):
    p = Playout()
    pushed: dict[str, int] = {}
    started: set[str] = set()
    for op in ops:
        events: list[BufferEvent] = []
        if op[0] == "push":
            before = p.buffered_ms
            p.push("r" + op[1], "i" + op[1], ms(op[2]))
            pushed[op[1]] = pushed.get(op[1], 0) + round((p.buffered_ms - before) * 48)
        elif op[0] == "pull":
            events = pull_all(p, op[1])
        elif op[0] == "finish":
            events = p.finish("r" + op[1])
        else:
            events, cuts = p.clear(None if op[1] is None else "r" + op[1])
            for cut in cuts:
                assert cut.played_ms <= pushed.get(cut.item_id[1:], 0) / 48
        for ev in events:
            if ev.kind == "started":
                assert ev.response_id not in started
                started.add(ev.response_id)
            else:  # stopped only after started; cleared may cut audio that never started
                assert ev.kind == "cleared" or ev.response_id in started
                started.discard(ev.response_id)
        assert len(started) <= 1 and (p.playing is None or p.playing in started)
    for key, n in pushed.items():
        assert p.played_ms("i" + key) <= n / 48


# -- request parsing ---------------------------------------------------------------------------

def test_raw_sdp_offer():
    assert parse_offer("application/sdp", SDP.encode()) == (SDP, None)


def test_multipart_offer_as_the_openai_sdk_encodes_it():
    import httpx
    from openai._multipart import encode_multipart

    session = {"type": "realtime", "instructions": "Be brief."}
    _, files, _, _ = encode_multipart(
        {"sdp": SDP, "session": session}, None,
        {"sdp": ("application/sdp", False), "session": ("application/json", True)}, "sdp")
    request = httpx.Request("POST", "http://x/v1/realtime/calls", files=files)
    body = request.read()
    assert parse_offer(request.headers["content-type"], body) == (SDP, session)


@pytest.mark.parametrize(("content_type", "body", "code"), [
    ("application/json", json.dumps({"sdp": SDP}).encode(), "invalid_content_type"),
    ("application/sdp", b"hello", "invalid_value"),
    ("application/sdp", b"\xff\xfe", "invalid_value"),
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data; "
     b"name=\"session\"\r\n\r\n{}\r\n--x--\r\n", "missing_required_parameter"),
])
def test_bad_offers_are_400s(content_type, body, code):
    with pytest.raises(CallError) as err:
        parse_offer(content_type, body)
    assert err.value.status == 400 and err.value.body["error"]["code"] == code


def test_ice_listens_on_the_engine_address_only():
    pytest.importorskip("aiortc")
    from rtnb.engine.webrtc import ice_hosts_for

    assert ice_hosts_for("127.0.0.1") == ["127.0.0.1"]
    assert ice_hosts_for("localhost") == ["127.0.0.1"]
    assert ice_hosts_for("::1") == ["::1"]
    assert ice_hosts_for("0.0.0.0") is None


# -- CORS: pages on this machine may call the engine, other sites may not -----------------------

@pytest.mark.parametrize(("origin", "ok"), [
    ("http://127.0.0.1:8888", True), ("http://localhost:3000", True), ("https://[::1]", True),
    ("http://127.0.0.5", True), ("https://example.com", False), ("http://192.168.1.4:80", False),
    ("null", False), (None, False), ("file://", False), ("http://localhost.evil.com", False),
])
def test_cors_allows_loopback_origins_only(origin, ok):
    from rtnb.engine import cors

    assert cors.allowed(origin) is ok
    assert bool(cors.headers(origin)) is ok
    pre = dict(cors.preflight(origin, "authorization, content-type, x-openai-agents-sdk"))
    if ok:
        assert pre["access-control-allow-origin"] == origin
        assert pre["access-control-expose-headers"] == "Location"
        assert "x-openai-agents-sdk" in pre["access-control-allow-headers"]
    else:
        assert pre == {}


def test_engine_answers_preflights_and_marks_replies():
    import urllib.error
    import urllib.request

    from rtnb.engine.background import start_engine
    from rtnb.engine.brain import make_brain
    from rtnb.engine.parts import Engine

    with start_engine(engine=Engine(brain=make_brain(None))) as running:
        url = running.http_url + "/realtime/calls"
        pre = urllib.request.Request(url, method="OPTIONS", headers={
            "Origin": "http://127.0.0.1:9999", "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type"})
        with urllib.request.urlopen(pre) as reply:
            assert reply.headers["access-control-allow-origin"] == "http://127.0.0.1:9999"
            assert "POST" in reply.headers["access-control-allow-methods"]
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(urllib.request.Request(url, method="OPTIONS", headers={
                "Origin": "https://example.com"}))
        assert err.value.code == 403
        get = urllib.request.Request(running.http_url + "/models",
                                     headers={"Origin": "http://localhost:3000"})
        with urllib.request.urlopen(get) as reply:
            assert reply.headers["access-control-allow-origin"] == "http://localhost:3000"
