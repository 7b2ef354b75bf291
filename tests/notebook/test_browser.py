"""End to end in a real JupyterLab, driven by headless Debian Chromium with a fake mic.

The fake mic plays a synthetic spoken question from a WAV file. The test clicks
Connect and Start mic in the rendered panel and waits for the transcript to show
both sides and the speaker widget to report audio played. Then, with the mic
paused, it types a message with dollar amounts (they must stay text, not become
math), asks for a refund (a tool that needs approval) and clicks Approve on the
waiting call, screenshots the transcript, opens a row of the event log and checks
that the row stays open and the scroll position holds while mic frames keep
arriving, screenshots the log, and holds the push-to-talk button with the mouse and
the keyboard. Screenshots go to ``artifacts/`` (CI keeps that folder).
"""

from __future__ import annotations

import json
import re

import pytest

from tests import labharness

pytestmark = [pytest.mark.slow, pytest.mark.browser]
ARTIFACTS = labharness.ROOT / "artifacts"
DOLLARS = "The jacket is $379, down from $449."
#: Longest wait for the kernel's answer to show. On a quiet machine each takes a second or
#: two; on a busy one, messages from the kernel queue for tens of seconds.
WAIT_MS = 120_000

#: The event log's scroll box, and a row of it by the start of its summary.
LOG_BOX = ".rtnb-log .rtnb-box"
ROW_STATE = """([box, key]) => {
  const b = document.querySelector(box), row = b.querySelector(`[data-key="${key}"]`);
  const counts = [...b.querySelectorAll('[data-key^="input_audio_buffer.append"] .rtnb-count')];
  return {open: row.open, marked: row.rtnbMark === true, top: b.scrollTop,
          rowTop: row.offsetTop, body: row.querySelector('.rtnb-body').innerText,
          appended: counts.reduce((n, c) => n + Number(c.textContent.slice(1)), 0)};
}"""


#: Every phase the state line shows, in order: messages can arrive in bursts, so a
#: phase may be on screen for less than a poll.
RECORD_PHASES = """() => {
  window.rtnbPhases = [];
  const note = (node) => {
    const el = node.nodeType === 1 && (node.matches('[data-phase]') ? node
                                        : node.querySelector('[data-phase]'));
    if (el) window.rtnbPhases.push(el.dataset.phase);
  };
  new MutationObserver((records) => records.forEach((r) => r.addedNodes.forEach(note)))
    .observe(document.querySelector('.rtnb-status'), {childList: true, subtree: true});
}"""


def phase(page) -> str:
    return page.locator(".rtnb-status [data-phase]").get_attribute("data-phase")


def wait_phase(page, *phases: str, timeout: float = WAIT_MS) -> None:
    """Wait until the state line shows one of ``phases``."""
    page.wait_for_function(
        "(phases) => phases.includes(document.querySelector("
        "'.rtnb-status [data-phase]').dataset.phase)", arg=list(phases), timeout=timeout)


def mark(page) -> int:
    return page.evaluate("window.rtnbPhases.length")


def wait_seen(page, since: int, *phases: str, timeout: float = WAIT_MS) -> str:
    """Wait until the state line has shown one of ``phases`` since ``mark``; returns it."""
    page.wait_for_function(
        "([since, phases]) => window.rtnbPhases.slice(since).some((p) => phases.includes(p))",
        arg=[since, list(phases)], timeout=timeout)
    return next(p for p in page.evaluate("window.rtnbPhases")[since:] if p in phases)


def frames_settled(page) -> None:
    """With the mic stopped, wait until the kernel has taken every frame the browser sent
    (and the state line saying so has arrived)."""
    page.wait_for_function(
        "() => document.querySelector('.rtnb-status [data-frames]').dataset.frames"
        " === document.querySelector('.rtnb-live-audio').dataset.framesSent", timeout=WAIT_MS)


def approve_in_panel(page) -> dict:
    """A refund needs approval: the call shows Approve / Reject; Approve runs it."""
    since = mark(page)
    page.locator(".rtnb-text input").fill("Please refund order 42")
    page.locator(".rtnb-text input").press("Enter")
    buttons = page.locator(".rtnb-transcript .rtnb-approval button")
    buttons.first.wait_for(timeout=WAIT_MS)
    wait_seen(page, since, "approval")
    seen = {"approval_buttons": buttons.all_inner_texts(),
            "approval_status": page.locator(".rtnb-status").inner_text()}
    page.locator(".rtnb-panel").screenshot(path=str(ARTIFACTS / "panel-approval.png"))
    page.locator(".rtnb-transcript .rtnb-approve").click()
    page.wait_for_function(
        "() => /order id is 42 and refunded is yes/i.test("
        "document.querySelector('.rtnb-transcript .rtnb-box').innerText)", timeout=WAIT_MS)
    wait_phase(page, "listening")
    seen["approved_row"] = page.locator(".rtnb-transcript [data-key^='c:']").last.inner_text()
    seen["approval_buttons_after"] = buttons.count()
    return seen


def tour(page) -> dict:
    """After the spoken turn: dollars, transcript shot, an opened log row, push-to-talk."""
    panel = page.locator(".rtnb-panel")
    page.evaluate(RECORD_PHASES)
    wait_phase(page, "listening")  # the spoken reply has played
    seen: dict = {"phases": [phase(page)]}
    # Type with the mic off: on a busy machine the kernel works through a backlog of
    # frames, and the message would wait behind it.
    page.locator(".rtnb-mic").click()
    frames_settled(page)
    # Typed dollars stay text: math typesetting is active on the page (the control
    # cell's dollars become math) but skips everything in the panel.
    since = mark(page)
    page.locator(".rtnb-text input").fill(DOLLARS)
    page.locator(".rtnb-text input").press("Enter")
    seen["phases"].append(wait_seen(page, since, "thinking", "agent_speaking"))
    page.locator(".rtnb-math-control mjx-container").first.wait_for(timeout=WAIT_MS)
    wait_phase(page, "listening")  # answered and played
    seen.update(approve_in_panel(page))
    page.locator(".rtnb-mic").click()  # the mic streams again from here on
    seen["math_in_panel"] = panel.locator("mjx-container").count()
    seen["transcript"] = page.locator(".rtnb-transcript .rtnb-box").inner_text()
    seen["status"] = page.locator(".rtnb-status").inner_text()
    panel.screenshot(path=str(ARTIFACTS / "panel-transcript.png"))

    # The event log: scroll into the middle, open the reply's audio row, let frames arrive.
    page.locator(".lm-TabBar-tab", has_text="Event log").click()
    box = page.locator(LOG_BOX)
    page.wait_for_function("(s) => { const b = document.querySelector(s);"
                           " return b.scrollHeight > 2 * b.clientHeight; }", arg=LOG_BOX,
                           timeout=WAIT_MS)
    row = box.locator("details[data-key^='response.output_audio.delta']").first
    key = row.get_attribute("data-key")
    row.evaluate("(r) => { r.parentElement.scrollTop = r.offsetTop - 60; }")
    page.wait_for_timeout(300)  # the box's scroll event: it stops following the bottom
    row.locator("summary").click()
    row.evaluate("(r) => { r.rtnbMark = true; }")  # a rebuilt row would lose this
    before = page.evaluate(ROW_STATE, [LOG_BOX, key])
    page.wait_for_function(
        f"([box, key, n]) => ({ROW_STATE})([box, key]).appended >= n",
        arg=[LOG_BOX, key, before["appended"] + 50], timeout=WAIT_MS)  # 1 s of frames
    seen["log_before"], seen["log_after"] = before, page.evaluate(ROW_STATE, [LOG_BOX, key])
    seen["log_rows"] = box.evaluate(r"""(b) => {
      const n = (sel) => b.querySelectorAll(sel).length;
      const summaries = [...b.querySelectorAll('summary')].map((s) => s.innerText.trim());
      return {appends: n('[data-key^="input_audio_buffer.append"]'),
              audio: n('[data-key^="response.output_audio.delta"]'),
              responses: summaries.filter((s) => / response\.created$/.test(s)).length,
              commits: summaries.filter((s) => /input_audio_buffer\.committed/.test(s)).length};
    }""")
    panel.screenshot(path=str(ARTIFACTS / "panel-log.png"))

    # Push-to-talk: the button works while held, by mouse and by keyboard; each release
    # commits what was said (a ▲ input_audio_buffer.commit row in the log).
    page.locator(".rtnb-panel .widget-checkbox", has_text="Push-to-talk").locator(
        "input").check()
    hold = page.locator(".rtnb-hold")
    page.wait_for_function("() => !document.querySelector('.rtnb-hold').disabled",
                           timeout=WAIT_MS)
    commits = ("(s) => [...document.querySelectorAll(s + ' summary')].filter("
               "(x) => / input_audio_buffer\\.commit$/.test(x.innerText.trim())).length")
    for n, (press, release) in enumerate([
            (lambda: (hold.hover(), page.mouse.down()), page.mouse.up),
            (lambda: (hold.focus(), page.keyboard.down("Space")),
             lambda: page.keyboard.up("Space"))], 1):
        since = mark(page)
        press()
        wait_seen(page, since, "user_speaking")  # shown while held
        release()
        page.wait_for_function(f"(s) => ({commits})(s) >= {n}", arg=LOG_BOX, timeout=WAIT_MS)
    seen["commits"] = page.evaluate(f"(s) => ({commits})(s)", LOG_BOX)
    return seen


@pytest.mark.timeout(600)
def test_spoken_turn_in_jupyterlab(lab):
    ARTIFACTS.mkdir(exist_ok=True)
    wav = lab.folder / "question.wav"
    labharness.write_fake_mic(wav, tail_ms=45_000)  # asked once during the test
    labharness.write_notebook(lab.folder / "panel.ipynb",
                              [labharness.NOTEBOOK, labharness.MATH_CONTROL])
    seen = labharness.spoken_turn(lab.url, lab.token, wav, screenshot=ARTIFACTS / "panel.png",
                                  failure_shot=ARTIFACTS / "browser-failure.png", then=tour,
                                  notebook=lab.tree_path("panel.ipynb"))
    text = seen["text"]
    assert seen["frames"] > 50  # over a second of mic audio reached the kernel
    assert re.search(r"you: what'?s the weather in paris", text, re.IGNORECASE)
    assert re.search(r"Assistant: The weather in Paris is 18 degrees and sunny", text)
    assert set(seen["delays"]) == {"browser→kernel", "kernel→browser"}
    (ARTIFACTS / "browser_delays.json").write_text(json.dumps(seen["delays"]))
    # The state line followed the conversation; the last reply is coloured against 1 s.
    assert seen["phases"] in (["listening", "thinking"], ["listening", "agent_speaking"])
    assert re.search(r"last turn: reply \d+", seen["status"])
    # The refund waited for approval: its row had both buttons, the state line said so,
    # and after Approve the tool ran and the answer came back.
    assert seen["approval_buttons"] == ["Approve", "Reject"]
    assert "waits for your approval" in seen["approval_status"]
    assert re.search(r"refund_order.*approved", seen["approved_row"])
    assert seen["approval_buttons_after"] == 0
    assert re.search(r"Assistant: Order id is 42 and refunded is yes", seen["transcript"])
    # Dollars are text in the panel, though the page typesets math elsewhere.
    assert f"you: {DOLLARS}" in seen["transcript"]
    assert seen["math_in_panel"] == 0
    # The opened row stayed open, in place, while a second of frames arrived.
    before, after = seen["log_before"], seen["log_after"]
    assert before["open"] and after["open"] and after["marked"]
    assert abs(after["top"] - before["top"]) <= 1 and after["rowTop"] == before["rowTop"]
    assert after["appended"] >= before["appended"] + 50
    # Audio is one counted row per response or user turn, described for people.
    assert re.search(r"of audio, [\d,]+ bytes", after["body"]) and "$audio" not in after["body"]
    rows = seen["log_rows"]
    assert 1 <= rows["audio"] <= rows["responses"]
    assert rows["appends"] <= rows["commits"] + 1
    # Push-to-talk was held by mouse, then by keyboard: one commit each.
    assert seen["commits"] == 2
