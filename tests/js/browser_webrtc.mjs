// The stock JavaScript Agents SDK in a browser, over its default WebRTC transport, against
// rtnb's local engine. Bundled with esbuild into one file for a test page
// (tests/test_js_agents_webrtc.py); the page calls window.runCall(engineUrl, ephemeralKey).
// The microphone is the browser's (Chromium's fake device playing a speech WAV); the answer
// comes back as Opus media. Every server event on the oai-events data channel is checked
// against the SDK's own zod union.
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents/realtime';
import { realtimeServerEventSchema } from './node_modules/@openai/agents-realtime/dist/openaiRealtimeEvents.mjs';
import { z } from 'zod';

const knownTypes = new Set(realtimeServerEventSchema.options.map((o) => o.shape.type.value));
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

window.runCall = async (engineUrl, key) => {
  const report = { events: 0, invalid: [], unknownTypes: [], types: [], toolArgs: null };
  const getWeather = tool({
    name: 'get_weather',
    description: 'Get the current weather for a city.',
    parameters: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      report.toolArgs = { city };
      return { city, temperature_c: 18, conditions: 'sunny' };
    },
  });
  const agent = new RealtimeAgent({
    name: 'Assistant', instructions: 'Use tools for weather.', tools: [getWeather] });
  const session = new RealtimeSession(agent, {
    transport: 'webrtc', model: 'gpt-realtime-2.1',
    config: { audio: { input: { transcription: { model: 'gpt-live-transcribe' } } } } });
  const log = [];
  session.transport.on('*', (event) => {
    report.events += 1;
    log.push(event);
    if (!knownTypes.has(event.type)) {
      if (!report.unknownTypes.includes(event.type)) report.unknownTypes.push(event.type);
    } else {
      const parsed = realtimeServerEventSchema.safeParse(event);
      if (!parsed.success) report.invalid.push({ type: event.type, issues: parsed.error.issues });
    }
  });
  const answered = new Promise((resolve) => {
    session.on('agent_end', (_ctx, _agent, text) => { if (/sunny/i.test(text)) resolve(text); });
  });
  await session.connect({ apiKey: key, url: `${engineUrl}/v1/realtime/calls` });
  report.callId = session.transport.callId;
  const pc = session.transport.connectionState.peerConnection;
  // Sample what the browser receives and plays: the inbound audio level, every 50 ms.
  let loudest = 0;
  let samples = 0;
  const sampler = setInterval(async () => {
    const stats = await pc.getStats();
    stats.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'audio') {
        loudest = Math.max(loudest, r.audioLevel ?? 0);
        samples = r.totalSamplesReceived ?? samples;
      }
    });
  }, 50);
  report.output = await Promise.race([answered, sleep(60000).then(() => null)]);
  if (report.output === null) {
    report.failed = 'no spoken answer within 60 s';
    report.log = log.map((e) => [e.type, e.transcript ?? e.delta ?? e.response?.status ?? '']);
  }
  const deadline = Date.now() + 30000;
  const stopped = () => log.some((e) => e.type === 'output_audio_buffer.stopped'
    && log.some((d) => d.type === 'response.done' && d.response.id === e.response_id
      && /sunny/i.test(JSON.stringify(d.response.output))));
  while (!stopped() && Date.now() < deadline) await sleep(50);
  clearInterval(sampler);
  report.transcript = log.find(
    (e) => e.type === 'conversation.item.input_audio_transcription.completed')?.transcript;
  report.types = [...new Set(log.map((e) => e.type))];
  report.loudestLevel = loudest;
  report.samplesReceived = samples;
  session.close();
  return report;
};
