// The stock JavaScript Agents SDK (@openai/agents) against rtnb's local engine, over
// WebSocket in Node. Driven by tests/test_js_agents.py:
//
//   node agents_ws.mjs ws://127.0.0.1:PORT/v1 question.pcm stop.pcm [http://MCP-SERVER/mcp]
//
// (the .pcm files are 24 kHz PCM16 speech; with an MCP server URL, a hosted MCP tool that
// the engine runs is tried too: tests/mcp_server.py's orders server). Every server event the SDK receives is
// checked against the SDK's own zod union (realtimeServerEventSchema); the SDK itself
// silently drops events that fail it, so the test must look. Prints one JSON line.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

import { hostedMcpTool } from '@openai/agents';
import { RealtimeAgent, RealtimeSession, tool } from '@openai/agents/realtime';
import { z } from 'zod';

const [baseUrl, questionPcm, stopPcm, mcpUrl] = process.argv.slice(2);
const MODEL = 'gpt-realtime-2.1';
const LONG_REPLY = 'This is a long answer. It has several sentences, and each one takes a '
  + 'while to say. You can interrupt me at any time before I get to the end of it.';

// The SDK's own schemas: the same module file the SDK parses events with.
const require = createRequire(import.meta.url);
const dist = path.dirname(require.resolve('@openai/agents-realtime'));
const { realtimeServerEventSchema } = await import(
  pathToFileURL(path.join(dist, 'openaiRealtimeEvents.mjs')).href);
const knownTypes = new Set(realtimeServerEventSchema.options.map((o) => o.shape.type.value));

// Client events the SDK puts on the wire (its Node transport sends through ws's WebSocket):
// whether it sent response.cancel depends on whether it saw the response end first.
const { WebSocket: SdkWebSocket } = await import(
  pathToFileURL(path.join(dist, 'shims', 'shims-node.mjs')).href);
const sent = [];
const wireSend = SdkWebSocket.prototype.send;
SdkWebSocket.prototype.send = function send(data, ...rest) {
  try { sent.push(JSON.parse(String(data)).type); } catch { /* not JSON */ }
  return wireSend.call(this, data, ...rest);
};

const report = { events: 0, invalid: [], unknownTypes: [], errors: [], scenarios: {} };

function check(event) {
  report.events += 1;
  if (!knownTypes.has(event.type)) {
    if (!report.unknownTypes.includes(event.type)) report.unknownTypes.push(event.type);
    return;
  }
  const parsed = realtimeServerEventSchema.safeParse(event);
  if (!parsed.success) {
    report.invalid.push({ type: event.type, issues: parsed.error.issues.slice(0, 3) });
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function waitFor(emitter, name, timeoutMs = 30000, where = () => true) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${name} within ${timeoutMs} ms`)),
      timeoutMs);
    const handler = (...args) => {
      if (!where(...args)) return;
      clearTimeout(timer);
      emitter.off(name, handler);
      resolve(args);
    };
    emitter.on(name, handler);
  });
}

// The next server event (after index ``from``) matching ``where``, from the session's log.
async function serverEvent(log, where, timeoutMs = 30000, from = 0) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = log.slice(from).find(where);
    if (found) return found;
    if (Date.now() > deadline) throw new Error(`no matching server event within ${timeoutMs} ms`);
    await sleep(10);
  }
}
const ofType = (type, more = () => true) => (e) => e.type === type && more(e);

async function open(agent, options = {}) {
  const session = new RealtimeSession(agent, { transport: 'websocket', model: MODEL, ...options });
  const log = [];
  session.transport.on('*', (event) => {
    check(event);
    log.push(event);
  });
  session.on('error', (e) => {
    report.errors.push(e.error?.error?.code ?? String(e.error?.message ?? JSON.stringify(e)));
  });
  await session.connect({ apiKey: 'local', url: `${baseUrl}/realtime?model=${MODEL}` });
  return { session, log };
}

function lastAssistantText(session) {
  const items = session.history.filter((i) => i.type === 'message' && i.role === 'assistant');
  const last = items[items.length - 1];
  return (last?.content ?? []).map((c) => c.transcript ?? c.text ?? '').join('');
}

// Audio at real time, 20 ms per chunk, the way a microphone delivers it.
async function speak(session, pcm) {
  const chunk = 960;
  const start = Date.now();
  for (let i = 0, n = 0; i < pcm.length; i += chunk, n += 1) {
    const part = pcm.subarray(i, i + chunk);
    session.sendAudio(part.buffer.slice(part.byteOffset, part.byteOffset + part.byteLength));
    const wait = start + (n + 1) * 20 - Date.now();
    if (wait > 0) await sleep(wait);
  }
}

const silence = (ms) => Buffer.alloc(48 * ms);
const getWeather = tool({
  name: 'get_weather',
  description: 'Get the current weather for a city.',
  parameters: z.object({ city: z.string() }),
  execute: async ({ city }) => {
    report.scenarios.tool = { ...report.scenarios.tool, args: { city } };
    return { city, temperature_c: 18, conditions: 'sunny' };
  },
});

process.on('unhandledRejection', (e) => { throw e; });
try {
// 1. Text in, audio and transcript out.
{
  const { session, log } = await open(new RealtimeAgent({
    name: 'Assistant', instructions: 'Keep answers short.' }));
  const ended = waitFor(session, 'agent_end');
  session.sendMessage('Hello!');
  const [, , text] = await ended;
  report.scenarios.text = { output: text, types: [...new Set(log.map((e) => e.type))] };
  session.close();
}

// 2. A tool call, run by the SDK, read back by the engine.
{
  const { session } = await open(new RealtimeAgent({
    name: 'Assistant', instructions: 'Use tools for weather.', tools: [getWeather] }));
  const toolEnd = waitFor(session, 'agent_tool_end');
  session.sendMessage("What's the weather in Paris?");
  const [, , , result] = await toolEnd;
  const [, , text] = await waitFor(session, 'agent_end', 30000, (_c, _a, t) => /sunny/i.test(t));
  report.scenarios.tool = { ...report.scenarios.tool, result, output: text };
  session.close();
}

// 3. A handoff: the SDK updates the session and the new agent answers.
{
  const billing = new RealtimeAgent({
    name: 'Billing', handoffDescription: 'Handles billing questions and refunds.',
    instructions: 'You are the billing agent. Say: billing here, how can I help?' });
  const triage = new RealtimeAgent({
    name: 'Triage', instructions: 'Transfer billing questions to billing.', handoffs: [billing] });
  const { session } = await open(triage);
  const handoff = waitFor(session, 'agent_handoff');
  session.sendMessage('Please transfer me to billing.');
  const [, from, to] = await handoff;
  const [, agent, text] = await waitFor(session, 'agent_end', 30000, (_c, a) => a.name === 'Billing');
  report.scenarios.handoff = { from: from.name, to: to.name, answeredBy: agent.name, output: text };
  session.close();
}

// 4. An output guardrail trips on the streamed transcript: the SDK cancels the response
// (or finds it already done and sends no cancel) and sends its corrective message, which
// gets a new response.
{
  const noOffers = {
    name: 'no_offers_of_help',
    execute: async ({ agentOutput }) => ({
      tripwireTriggered: /how can i/i.test(agentOutput),
      outputInfo: { checked: agentOutput.length } }),
  };
  const { session, log } = await open(
    new RealtimeAgent({ name: 'Assistant', instructions: 'Keep answers short.' }),
    { outputGuardrails: [noOffers], outputGuardrailSettings: { debounceTextLength: 20 } });
  const tripped = waitFor(session, 'guardrail_tripped');
  const sentBefore = sent.length;
  session.sendMessage('Hello!');
  const [, , error] = await tripped;
  const at = log.length;
  const next = await serverEvent(log, ofType('response.created'), 30000, at);
  await serverEvent(log, ofType('response.done', (e) => e.response.id === next.response.id));
  const firstDone = log.find(ofType('response.done'));
  report.scenarios.guardrail = {
    message: String(error.message), firstStatus: firstDone.response.status,
    cancelSent: sent.slice(sentBefore).includes('response.cancel'),
    feedback: session.history.filter((i) => i.role === 'user').length };
  session.close();
}

// 5. Tool approval: a needsApproval tool waits for tool_approval_requested; approve()
// runs it and the engine answers with its result, reject() tells the model it was not
// approved (the SDK sends its own rejection message as the output). Then a tool output
// guardrail replaces a tool's output before the engine sees it.
{
  const cardOnFile = tool({
    name: 'card_on_file',
    description: 'The payment card a customer has on file.',
    parameters: z.object({ customer_id: z.string() }),
    outputGuardrails: [{
      name: 'no_card_numbers',
      run: async ({ output }) => (/4111/.test(JSON.stringify(output))
        ? { behavior: { type: 'rejectContent', message: 'That card number is private.' } }
        : { behavior: { type: 'allow' } }),
    }],
    execute: async ({ customer_id }) => ({ customer_id, card: '4111 1111 1111 1111' }),
  });
  const ran = [];
  const refundOrder = tool({
    name: 'refund_order',
    description: 'Refund an order by its number.',
    parameters: z.object({ order_id: z.string() }),
    needsApproval: true,
    execute: async ({ order_id }) => { ran.push(order_id); return { order_id, refunded: true }; },
  });
  const { session } = await open(new RealtimeAgent({
    name: 'Clerk', instructions: 'Refund orders.', tools: [refundOrder, cardOnFile] }));
  const asked = [];
  session.on('tool_approval_requested', (_c, _a, request) => asked.push(request));
  const waitAsked = async (n) => {
    for (const deadline = Date.now() + 30000; asked.length < n;) {
      if (Date.now() > deadline) throw new Error('no tool_approval_requested');
      await sleep(10);
    }
    return asked[n - 1];
  };
  session.sendMessage('Please refund order 42');
  const first = await waitAsked(1);
  const ranBeforeApproval = ran.length;
  const approved = waitFor(session, 'agent_end', 30000, (_c, _a, t) => /refunded/i.test(t));
  await session.approve(first.approvalItem);
  const [, , approvedText] = await approved;
  session.sendMessage('Please refund order 43');
  const second = await waitAsked(2);
  const rejected = waitFor(session, 'agent_end', 30000, (_c, _a, t) => /not approved/i.test(t));
  await session.reject(second.approvalItem);
  const [, , rejectedText] = await rejected;
  const guarded = waitFor(session, 'agent_end', 30000, (_c, _a, t) => /private/i.test(t));
  session.sendMessage('Which payment card does customer 7 have on file?');
  const [, , guardedText] = await guarded;
  report.scenarios.approval = {
    tool: first.tool.name, args: JSON.parse(first.approvalItem.rawItem.arguments),
    ranBeforeApproval, ran, approvedText, rejectedText, guardedText };
  session.close();
}

// 6. A spoken turn under server VAD, then a barge-in while the answer plays.
{
  const { session, log } = await open(new RealtimeAgent({
    name: 'Assistant', instructions: 'Use tools for weather.', tools: [getWeather] }), {
    config: { audio: { input: { transcription: { model: 'gpt-live-transcribe' } } } } });
  const question = fs.readFileSync(questionPcm);
  const stop = fs.readFileSync(stopPcm);
  const reply = waitFor(session, 'agent_end', 60000, (_c, _a, t) => /sunny/i.test(t));
  await speak(session, Buffer.concat([silence(300), question, silence(900)]));
  const transcript = await serverEvent(log,
    ofType('conversation.item.input_audio_transcription.completed'));
  const [, , spoken] = await reply;
  report.scenarios.spoken = {
    transcript: transcript.transcript, output: spoken,
    audioDeltas: log.filter(ofType('response.output_audio.delta')).length };

  // Barge-in: a long answer streams (the brain reads a supervisor's nextResponse verbatim),
  // the user talks over it, and the SDK truncates the item at what it had played.
  const interrupted = waitFor(session, 'audio_interrupted', 60000);
  const at = log.length;
  session.transport.sendEvent({ type: 'conversation.item.create', item: {
    type: 'function_call', name: 'getNextResponseFromSupervisor', call_id: 'call_long',
    arguments: '{}' } });
  session.transport.sendEvent({ type: 'conversation.item.create', item: {
    type: 'function_call_output', call_id: 'call_long',
    output: JSON.stringify({ nextResponse: LONG_REPLY }) } });
  session.transport.sendEvent({ type: 'response.create' });
  const first = await serverEvent(log, ofType('response.output_audio.delta'), 30000, at);
  await sleep(300);
  await speak(session, Buffer.concat([stop, silence(900)]));
  await interrupted;
  const cut = await serverEvent(log, ofType('conversation.item.truncated'), 30000, at);
  const retrieved = await serverEvent(log, ofType('conversation.item.retrieved',
    (e) => e.item.id === first.item_id), 30000, at);
  report.scenarios.bargeIn = {
    audioEndMs: cut.audio_end_ms, itemMatches: cut.item_id === first.item_id,
    speechStarted: log.slice(at).some(ofType('input_audio_buffer.speech_started')),
    heardTranscript: retrieved.item.content[0].transcript, fullTranscript: LONG_REPLY };
  session.close();
}

// 7. A hosted MCP tool, run by the engine: a lookup runs at once, a cancel waits for the
// SDK's approval (session.approve sends the mcp_approval_response).
if (mcpUrl) {
  const { session, log } = await open(new RealtimeAgent({
    name: 'Assistant', instructions: 'Help with orders.',
    tools: [hostedMcpTool({ serverLabel: 'orders', serverUrl: mcpUrl,
      requireApproval: { never: { toolNames: ['get_order_status'] } } })] }));
  const listed = await serverEvent(log, ofType('conversation.item.done',
    (e) => e.item.type === 'mcp_list_tools'));
  const looked = waitFor(session, 'mcp_tool_call_completed');
  session.sendMessage("What's the status of order A1234?");
  const [, , lookup] = await looked;
  const [, , lookupText] = await waitFor(session, 'agent_end', 30000,
    (_c, _a, t) => /shipped/i.test(t));
  const asked = waitFor(session, 'tool_approval_requested');
  session.sendMessage('Please cancel order B77.');
  const [, , request] = await asked;
  const cancelled = waitFor(session, 'mcp_tool_call_completed');
  await session.approve(request.approvalItem);
  const [, , cancel] = await cancelled;
  const [, , cancelText] = await waitFor(session, 'agent_end', 30000,
    (_c, _a, t) => /cancelled/i.test(t));
  report.scenarios.mcp = {
    listed: listed.item.tools.map((t) => t.name).sort(),
    lookup: { name: lookup.name, arguments: JSON.parse(lookup.arguments), output: lookup.output },
    lookupText,
    approvalFor: request.type,
    cancel: { name: cancel.name, arguments: JSON.parse(cancel.arguments), output: cancel.output },
    cancelText,
    types: [...new Set(log.map((e) => e.type))] };
  session.close();
}
} catch (error) {
  report.failed = String(error?.stack ?? error);
}
console.log(JSON.stringify(report));
process.exit(report.failed ? 1 : 0);
