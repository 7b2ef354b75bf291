"""Server behaviour: auth, bad frames, the CLI, and the offline proof."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import urllib.request

import openai
import pytest
import websockets
from openai import AsyncOpenAI, OpenAI

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def guarded(engine):
    """A second server on the same models that requires a bearer token."""
    from rtnb.engine.background import start_engine

    with start_engine(port=0, engine=engine.server.engine, token="s3cret-token") as running:
        yield running


async def _hello(url: str, key: str) -> str:
    client = AsyncOpenAI(api_key=key, websocket_base_url=url)
    async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
        return (await conn.recv()).type


async def test_token_required_and_ephemeral_keys(guarded):
    with pytest.raises(Exception) as info:
        await _hello(guarded.url, "wrong")
    assert "401" in str(info.value)
    assert await _hello(guarded.url, "s3cret-token") == "session.created"
    http = OpenAI(api_key="s3cret-token", base_url=guarded.http_url)
    secret = http.realtime.client_secrets.create(
        session={"type": "realtime", "instructions": "Be brief."},
        expires_after={"anchor": "created_at", "seconds": 60})
    assert secret.value.startswith("ek_")
    assert secret.session.instructions == "Be brief."
    assert await _hello(guarded.url, secret.value) == "session.created"
    # An ephemeral key cannot mint more keys.
    with pytest.raises(openai.AuthenticationError):
        OpenAI(api_key=secret.value, base_url=guarded.http_url).realtime.client_secrets.create()
    with pytest.raises(openai.AuthenticationError):
        OpenAI(api_key="wrong", base_url=guarded.http_url).responses.create(
            model="rtnb-local", input="hi")


def test_token_never_in_repr(guarded):
    assert "s3cret" not in repr(guarded.server.engine.auth)
    assert "s3cret" not in repr(guarded)


async def test_oversized_frame_refused_cleanly(engine):
    async with websockets.connect(engine.url + "/realtime?model=x", max_size=None) as ws:
        json.loads(await ws.recv())
        with pytest.raises(websockets.ConnectionClosed) as info:
            await ws.send(json.dumps({"type": "input_audio_buffer.append",
                                      "audio": "A" * (22 * 1024 * 1024)}))
            await asyncio.wait_for(ws.recv(), 10)
    assert info.value.rcvd.code == 1009
    assert "message too big" in str(info.value)


async def test_binary_frame_and_unknown_path(engine):
    async with websockets.connect(engine.url + "/realtime?model=x") as ws:
        json.loads(await ws.recv())
        await ws.send(b"\x00\x01")
        err = json.loads(await ws.recv())
        assert err["type"] == "error" and err["error"]["code"] == "invalid_event"
        await ws.send(json.dumps({"type": "input_audio_buffer.clear"}))
        assert json.loads(await ws.recv())["type"] == "input_audio_buffer.cleared"
    with pytest.raises(websockets.InvalidStatus) as info:
        async with websockets.connect(engine.url + "/elsewhere"):
            pass
    assert info.value.response.status_code == 404


def test_health_and_models(engine):
    base = engine.http_url.removesuffix("/v1")
    health = json.loads(urllib.request.urlopen(base + "/health").read())
    assert health["status"] == "ok" and health["speech"]["asr"] == "whisper-tiny.en"
    models = OpenAI(api_key="x", base_url=engine.http_url).models.list()
    assert [m.id for m in models.data] == ["rtnb-local"]


def test_cli_serve_prints_url_and_stops_on_sigterm():
    proc = subprocess.Popen([sys.executable, "-m", "rtnb", "serve", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line and line.rstrip().endswith("(no token)")
        url = line.split()[4]
        assert url.endswith("/v1")
        assert asyncio.run(_hello(url, "x")) == "session.created"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
    finally:
        proc.kill()


OFFLINE_SCRIPT = textwrap.dedent("""
    import asyncio, base64, socket
    from openai import AsyncOpenAI
    from rtnb.engine.background import start_engine
    from tests import speechgen

    try:
        socket.create_connection(("1.1.1.1", 443), timeout=2)
        raise SystemExit("network reachable: not an offline run")
    except OSError:
        pass

    async def main(url):
        pcm = speechgen.with_silence(speechgen.utterance("Hello there."), 300, 900)
        client = AsyncOpenAI(api_key="x", websocket_base_url=url)
        async with client.realtime.connect(model="gpt-realtime-2.1") as conn:
            for i in range(0, len(pcm), 1920):
                await conn.input_audio_buffer.append(
                    audio=base64.b64encode(pcm[i:i + 1920]).decode())
            audio = 0
            async for ev in conn:
                if ev.type == "response.output_audio.delta":
                    audio += len(base64.b64decode(ev.delta))
                if ev.type == "response.done":
                    return audio

    with start_engine() as engine:
        print("OFFLINE_AUDIO_BYTES", asyncio.run(main(engine.url)))
""")


@pytest.mark.skipif(shutil.which("unshare") is None or shutil.which("ip") is None,
                    reason="needs unshare and ip (util-linux, iproute2) to drop the network")
def test_spoken_turn_with_no_network(tmp_path):
    probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -n is not permitted here: {probe.stderr.decode().strip()}")
    script = tmp_path / "offline.py"
    script.write_text(OFFLINE_SCRIPT)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HF_")}
    env["PYTHONPATH"] = os.getcwd()
    result = subprocess.run(
        ["unshare", "-n", "sh", "-c", f"ip link set lo up && {sys.executable} {script}"],
        capture_output=True, text=True, timeout=240, env=env, cwd=os.getcwd())
    assert result.returncode == 0, result.stderr[-2000:]
    line = [x for x in result.stdout.splitlines() if x.startswith("OFFLINE_AUDIO_BYTES")][0]
    assert int(line.split()[1]) > 48 * 300
