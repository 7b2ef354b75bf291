"""Suite validation: an invalid suite names what is wrong and where, and nothing runs."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from rtnb.evals import SuiteError, load_suite

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "evals"


def write(tmp_path, text: str) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(textwrap.dedent(text))
    return path


TYPO = """\
    agent: scenario:triage
    calls:
      - name: first
        turns:
          - say: hello
      - name: double charge goes to billing
        turns:
          - say: hi
          - say: I was charged twice
            expect:
              handof: billing
    """


def test_a_typo_names_the_key_its_call_and_turn(tmp_path):
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, TYPO))
    message = str(err.value)
    assert "unknown key 'handof' under expect" in message
    assert "call 'double charge goes to billing'" in message and "turn 2" in message


@pytest.mark.parametrize("text, words", [
    ("agent: scenario:triage\ncalls: [{name: a, turns: [{say: hi}]}]\nmodes: text\n",
     ["unknown key 'modes'"]),
    ("agent: scenario:triage\ncalls:\n  - name: a\n    turn: [{say: hi}]\n",
     ["unknown key 'turn'", "call 'a'"]),
    ("agent: scenario:triage\ncalls:\n  - name: a\n    turns: [{say: hi, expect: {tool: "
     "{name: x, arg: {}}}}]\n", ["unknown key 'arg' under expect.tool", "turn 1"]),
    ("agent: scenario:triage\ncalls: [{name: a, turns: [{say: hi}]}]\nmode: video\n",
     ["mode"]),
    ("agent: scenario:nope\ncalls: [{name: a, turns: [{say: hi}]}]\n",
     ["unknown scenario 'nope'"]),
    ("agent: no_such_module_xyz:agent\ncalls: [{name: a, turns: [{say: hi}]}]\n",
     ["can't be imported", "no_such_module_xyz"]),
    ("agent: tests.evals.eval_agents:missing\ncalls: [{name: a, turns: [{say: hi}]}]\n",
     ["can't be imported", "missing"]),
    ("agent: tests.evals.eval_agents:get_weather\ncalls: [{name: a, turns: [{say: hi}]}]\n",
     ["not an rtnb.Agent"]),
    ("agent: scenario:triage\nvoices: [alloy, nobody]\ncalls: [{name: a, turns: [{say: hi}]}]\n",
     ["unknown voice 'nobody'"]),
    ("agent: scenario:triage\ncalls: [{name: a, turns: [{say: hi}]}, {name: a, turns: "
     "[{say: hi}]}]\n", ["two calls are named 'a'"]),
    ("agent: scenario:triage\ncalls: [{name: a}]\n", ["either 'turns' or a 'caller'"]),
    ("agent: scenario:triage\ncalls: [{name: a, turns: [{say: hi, expect: "
     "{reply_matches: '('}}]}]\n", ["not a regular expression"]),
    ("agent: scenario:triage\ncalls: [{name: a, turns: [{say: hi, speed: 9}]}]\n",
     ["speed"]),
    ("agent: scenario:triage\ncalls: []\n", ["calls"]),
    ("agent: [unclosed\n", ["bad YAML"]),
    ("- just a list\n", ["a suite is a mapping"]),
])
def test_invalid_suites(tmp_path, text, words):
    with pytest.raises(SuiteError) as err:
        load_suite(write(tmp_path, text))
    for word in words:
        assert word in str(err.value)


def test_a_valid_suite_reads_with_defaults(tmp_path):
    suite = load_suite(write(tmp_path, """\
        agent: tests.evals.eval_agents:SHARED
        voices: [echo, shimmer]
        calls:
          - name: one
            turns:
              - say: hi
                expect: {tool: get_weather, reply_contains: sunny}
          - name: two
            voice: coral
            turns: [{say: hi}, {say: there, voice: sage}]
        """))
    assert suite.mode == "text" and suite.repeat == 1
    first = suite.calls[0].turns[0].expect
    assert first.tool.name == "get_weather" and first.tool.args == {}
    assert first.reply_contains == ["sunny"]
    assert [k for k, _ in first.items()] == ["tool", "reply_contains"]
    assert suite.voice_for(0) == "echo"
    assert suite.voice_for(1, suite.calls[1].turns[0]) == "coral"
    assert suite.voice_for(1, suite.calls[1].turns[1]) == "sage"
    agent = suite.agent_factory()()
    assert agent.name == "Shared"


def test_every_shipped_suite_is_valid():
    found = sorted(EXAMPLES.glob("*.yaml"))
    assert {p.stem for p in found} >= {"example", "chat_supervisor", "customer_service_retail",
                                       "simple_handoff", "triage"}
    for path in found:
        load_suite(path)


def test_cli_exit_2_names_the_key_and_runs_nothing(tmp_path):
    path = write(tmp_path, TYPO)
    out = tmp_path / "out.json"
    proc = subprocess.run([sys.executable, "-m", "rtnb", "eval", str(path), "--json", str(out)],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2, proc.stderr
    assert "invalid suite" in proc.stderr and "'handof'" in proc.stderr
    assert "call 'double charge goes to billing'" in proc.stderr and "turn 2" in proc.stderr
    assert not out.exists()


@pytest.mark.parametrize("args, words", [
    (["--judge", "http://127.0.0.1:9/v1"], ["URL#model"]),
    (["--backend", "nowhere"], ["--backend"]),
    (["--workers", "0"], ["--workers"]),
])
def test_cli_bad_options_exit_2(tmp_path, args, words):
    path = EXAMPLES / "triage.yaml"
    proc = subprocess.run([sys.executable, "-m", "rtnb", "eval", str(path), *args],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 2
    for word in words:
        assert word in proc.stderr


def test_ray_without_the_ray_executor_exits_2():
    from rtnb.evals.executors import ExecutorUnavailable, executor_for

    try:
        import rtnb.evals.ray_executor  # noqa: F401
    except ModuleNotFoundError:
        with pytest.raises(ExecutorUnavailable, match="--ray"):
            executor_for(2, "local")
    else:
        pytest.skip("the Ray executor is installed")


def test_evals_load_lazily():
    code = ("import sys, rtnb; heavy = [m for m in ('rtnb.evals', 'yaml', 'pandas', 'tqdm') "
            "if m in sys.modules]; assert not heavy, heavy; "
            "assert callable(rtnb.evals.load_suite) and callable(rtnb.evals.run)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, timeout=120)
