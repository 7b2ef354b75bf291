// rtnb live audio: mic capture (AudioWorklet → PCM16 24 kHz) and gap-free playback.
//
// Messages from Python:  {type: "play", item_id, t}  + one buffer of PCM16 24 kHz
//                        {type: "flush"}
// Messages to Python:    {type: "audio", level, t}   + one buffer of PCM16 24 kHz (20 ms)
//                        {type: "played", item_id, ms}      (every 100 ms while playing)
//                        {type: "flushed", item_id, ms}
//                        {type: "delay", ms}                (kernel → browser, per chunk)
//                        {type: "failed", message}   (no microphone)

const RATE = 24000;
const FRAME = 480; // 20 ms at 24 kHz

// The worklet resamples from the context's rate to 24 kHz (linear interpolation with
// a two-tap pre-average when decimating) and posts 20 ms Int16 frames.
const WORKLET = `
class RtnbCapture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / ${RATE};
    this.pos = 0;
    this.prev = 0;
    this.frame = new Int16Array(${FRAME});
    this.n = 0;
    this.sq = 0;
  }
  process(inputs) {
    const ch = inputs[0] && inputs[0][0];
    if (!ch) return true;
    const len = ch.length;
    const prev = this.prev;
    // Sample k of this block; k = -1 is the last sample of the previous block.
    const at = (k) => (k < 0 ? prev : ch[k]);
    const smooth = this.step > 1.5; // decimating: average neighbours first
    const tap = (k) => (smooth ? (at(k - 1) + at(k)) / 2 : at(k));
    while (this.pos < len - 1) {
      const i = Math.floor(this.pos);
      const f = this.pos - i;
      const a = tap(i);
      const s = Math.max(-1, Math.min(1, a + (tap(i + 1) - a) * f));
      this.frame[this.n++] = s < 0 ? s * 32768 : s * 32767;
      this.sq += s * s;
      if (this.n === ${FRAME}) {
        const level = Math.sqrt(this.sq / ${FRAME});
        this.port.postMessage({ pcm: this.frame.buffer, level }, [this.frame.buffer]);
        this.frame = new Int16Array(${FRAME});
        this.n = 0;
        this.sq = 0;
      }
      this.pos += this.step;
    }
    this.pos -= len; // in [-1, step - 1): the next block starts from prev
    this.prev = ch[len - 1];
    return true;
  }
}
registerProcessor("rtnb-capture", RtnbCapture);
`;

function render({ model, el }) {
  const root = document.createElement("div");
  root.className = "rtnb-live-audio";
  const micButton = document.createElement("button");
  micButton.className = "jupyter-widgets jupyter-button widget-button rtnb-mic";
  const meter = document.createElement("meter");
  meter.min = 0;
  meter.max = 0.3;
  meter.value = 0;
  meter.className = "rtnb-level";
  const status = document.createElement("span");
  status.className = "rtnb-audio-status";
  root.append(micButton, meter, status);
  el.appendChild(root);

  let capture = null; // {ctx, stream, node}
  let framesSent = 0;
  let playedTotal = 0;
  let out = null; // {ctx, gain}
  let queue = []; // {item_id, start, dur, src}
  let endTime = 0;
  let reporter = null;

  let problem = "";

  // The mic button and its level meter; counts stay in data attributes (the panel's status
  // line shows what reached the kernel).
  const show = () => {
    micButton.textContent = capture ? "■ Stop mic" : "● Start mic";
    micButton.classList.toggle("rtnb-on", Boolean(capture));
    meter.title = capture ? "microphone level" : "microphone off";
    status.textContent = problem ? "⚠ " + problem : model.get("playback") ? "" : "speaker muted";
    root.dataset.framesSent = String(framesSent);
    root.dataset.playedMs = String(Math.round(playedTotal));
  };

  const fail = (message) => {
    model.send({ type: "failed", message });
    problem = message;
  };

  async function startMic() {
    try {
      const stream = await navigator.mediaDevices.getUserMedia({
        audio: { echoCancellation: true, noiseSuppression: true, channelCount: 1 },
      });
      const ctx = new AudioContext(); // the mic's own rate; the worklet resamples
      const url = URL.createObjectURL(new Blob([WORKLET], { type: "application/javascript" }));
      await ctx.audioWorklet.addModule(url);
      URL.revokeObjectURL(url);
      const source = ctx.createMediaStreamSource(stream);
      const node = new AudioWorkletNode(ctx, "rtnb-capture");
      node.port.onmessage = ({ data }) => {
        if (!capture || capture.node !== node) return; // stopped: drop what was in flight
        framesSent += 1;
        if (Number.isFinite(data.level)) meter.value = data.level;
        model.send({ type: "audio", level: data.level, t: Date.now() }, undefined, [data.pcm]);
        if (framesSent % 10 === 0) root.dataset.framesSent = String(framesSent);
      };
      source.connect(node);
      capture = { ctx, stream, node };
      problem = "";
      model.set("capturing", true);
      model.save_changes();
    } catch (err) {
      fail(`microphone unavailable: ${err.message || err}`);
    }
    show();
  }

  function stopMic() {
    if (capture) {
      capture.stream.getTracks().forEach((t) => t.stop());
      capture.ctx.close();
      capture = null;
    }
    meter.value = 0;
    model.set("capturing", false);
    model.save_changes();
    show();
  }

  micButton.addEventListener("click", () => (capture ? stopMic() : startMic()));

  function output() {
    if (!out) {
      const ctx = new AudioContext({ sampleRate: RATE });
      const gain = ctx.createGain();
      gain.gain.value = model.get("playback") ? 1 : 0;
      gain.connect(ctx.destination);
      out = { ctx, gain };
    }
    if (out.ctx.state === "suspended") out.ctx.resume();
    return out;
  }

  function playedOf(itemId, now) {
    let ms = 0;
    for (const c of queue) {
      if (c.item_id === itemId) ms += Math.max(0, Math.min(c.dur, now - c.start)) * 1000;
    }
    return ms;
  }

  function current(now) {
    const playing = queue.find((c) => now >= c.start && now < c.start + c.dur);
    return playing ? playing.item_id : queue.length ? queue[queue.length - 1].item_id : null;
  }

  function report() {
    if (!out || !queue.length) return;
    const now = out.ctx.currentTime;
    const itemId = current(now);
    model.send({ type: "played", item_id: itemId, ms: playedOf(itemId, now) });
    if (now >= endTime) {
      playedTotal += queue.reduce((a, c) => a + c.dur * 1000, 0);
      queue = [];
    }
    show();
  }

  function play(msg, buffer) {
    const { ctx, gain } = output();
    const pcm = new Int16Array(buffer.buffer ? buffer.buffer.slice(buffer.byteOffset,
      buffer.byteOffset + buffer.byteLength) : buffer);
    if (!pcm.length) return;
    const audio = ctx.createBuffer(1, pcm.length, RATE);
    const data = audio.getChannelData(0);
    for (let i = 0; i < pcm.length; i++) data[i] = pcm[i] / 32768;
    const src = ctx.createBufferSource();
    src.buffer = audio;
    src.connect(gain);
    const start = Math.max(ctx.currentTime + 0.02, endTime);
    src.start(start);
    endTime = start + audio.duration;
    queue.push({ item_id: msg.item_id, start, dur: audio.duration, src });
    if (msg.t) model.send({ type: "delay", ms: Date.now() - msg.t });
    if (!reporter) reporter = setInterval(report, 100);
  }

  function flush() {
    let itemId = null;
    let ms = 0;
    if (out && queue.length) {
      const now = out.ctx.currentTime;
      itemId = current(now);
      ms = playedOf(itemId, now);
      for (const c of queue) {
        try { c.src.stop(); } catch (e) { /* already ended */ }
        playedTotal += Math.max(0, Math.min(c.dur, now - c.start)) * 1000;
      }
    }
    queue = [];
    endTime = 0;
    model.send({ type: "flushed", item_id: itemId, ms });
    show();
  }

  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "play") play(msg, buffers[0]);
    else if (msg.type === "flush") flush();
  });
  model.on("change:playback", () => {
    if (out) out.gain.gain.value = model.get("playback") ? 1 : 0;
    show();
  });
  show();
  return () => {
    stopMic();
    if (reporter) clearInterval(reporter);
    if (out) out.ctx.close();
  };
}

export default { render };
