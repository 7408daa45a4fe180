// The official Anthropic TypeScript SDK against tools/claude-double.
//
// The double stands in for the real API in every other test, so here the
// real client library talks to it: if the SDK can read what the double says
// (answers, streams, thinking, structured output, the model catalogue,
// errors and retry hints), the double speaks the API's protocol.
//
//   node sdk.test.mjs DOUBLE_URL API_KEY [name-substring ...]
//
// It starts nothing: script/test starts the double (with --api-key API_KEY)
// and passes its URL. Each
// test starts from a reset double. One line per test, then "N passed, N failed".

import Anthropic from '@anthropic-ai/sdk';
import { jsonSchemaOutputFormat } from '@anthropic-ai/sdk/helpers/json-schema';
import { EnforcedSpendLimitReachedError } from '@anthropic-ai/sdk/resources/shared';
import LegacyAnthropic from 'sdk-legacy';

const [baseURL, apiKey, ...only] = process.argv.slice(2);
if (!baseURL || !apiKey) {
  console.error('usage: node sdk.test.mjs DOUBLE_URL API_KEY [name-substring ...]');
  process.exit(2);
}

const SONNET = 'claude-sonnet-5-5';
const HAIKU = 'claude-haiku-5-5';
const LEGACY = 'claude-haiku-4-5-20251001';
const RETIRED = 'claude-sonnet-4-5-20250929';

// Retries wait 10 ms (the faults send retry-after-ms), so the suite is fast.
function client(options = {}) {
  return new Anthropic({ apiKey, authToken: null, baseURL, maxRetries: 0, timeout: 10000,
                         ...options });
}

function legacyClient(options = {}) {
  return new LegacyAnthropic({ apiKey, authToken: null, baseURL, maxRetries: 0,
                               timeout: 10000, ...options });
}

async function control(method, path, body) {
  const response = await fetch(`${baseURL}/_double/${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await response.json();
  if (!response.ok) throw new Error(`control ${path}: ${response.status} ${JSON.stringify(answer)}`);
  return answer;
}

const faults = (...list) => control('POST', 'faults', { faults: list });

// The double counts a request once its answer is fully written, which can
// be just after the client has read it: wait until nothing is in flight.
async function settled() {
  for (let i = 0; i < 500; i++) {
    const seen = await control('GET', 'stats');
    if (seen.in_flight === 0) return seen;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error('the double never settled');
}
const stats = settled;
const lastRequest = async () => {
  await settled();
  return (await control('GET', 'requests')).requests.at(-1);
};

function check(condition, message) {
  if (!condition) throw new Error(message);
}

function equal(actual, expected, what) {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  check(a === b, `${what}: ${a} !== ${b}`);
}

// The error a call throws, checked against the SDK class and status.
async function rejects(promise, ErrorClass, status, what) {
  try {
    await promise;
  } catch (error) {
    check(error instanceof ErrorClass,
          `${what}: ${error?.constructor?.name} is not ${ErrorClass.name}: ${error?.message}`);
    if (status !== undefined) equal(error.status, status, `${what} status`);
    return error;
  }
  throw new Error(`${what}: no error`);
}

const ask = (text, extra = {}) => ({
  model: SONNET,
  max_tokens: 2048,
  messages: [{ role: 'user', content: text }],
  ...extra,
});

const INTENT = {
  type: 'object',
  title: 'classify_intent',
  properties: {
    intent: { type: 'string', enum: ['brainstorming', 'deciding', 'general'] },
    // Outside the subset: the SDK moves them into the description.
    confidence: { type: 'integer', minimum: 0, maximum: 100 },
  },
  required: ['intent', 'confidence'],
};

const tests = [];
const test = (name, fn) => tests.push({ name, fn });

// -- messages -----------------------------------------------------------

test('create answers with a thinking block and the new usage fields', async () => {
  const message = await client().messages.create(ask('We will use PostgreSQL.'));
  equal(message.content.map((b) => b.type), ['thinking', 'text'], 'blocks');
  check(message.content[0].signature.length > 20, 'signature');
  check(message.content[1].text.startsWith('Thinking about "We will use PostgreSQL."'), 'text');
  equal(message.stop_reason, 'end_turn', 'stop_reason');
  equal(message.stop_details, null, 'stop_details');
  equal(message.model, SONNET, 'model');
  equal(message.usage.output_tokens_details, { thinking_tokens: 512 }, 'thinking tokens');
  equal(message.usage.cache_creation,
        { ephemeral_5m_input_tokens: 0, ephemeral_1h_input_tokens: 0 }, 'cache_creation');
  check(/^req_/.test(message._request_id), `request id ${message._request_id}`);
  const sent = await lastRequest();
  equal([sent.version, sent.auth], ['2026-10-21', 'bearer'], 'SDK 1.17 headers');
});

test('stream: text and thinking events, finalMessage', async () => {
  const stream = client().messages.stream(
    ask('Stream a reply please.', { thinking: { type: 'adaptive', display: 'summarized' } }));
  let text = '';
  let thinking = '';
  stream.on('text', (delta) => { text += delta; });
  stream.on('thinking', (delta) => { thinking += delta; });
  const message = await stream.finalMessage();
  equal(message.content.map((b) => b.type), ['thinking', 'text'], 'blocks');
  equal(message.content[1].text, text, 'text events');
  check(thinking.length > 0, 'thinking events');
  equal(message.content[0].thinking, thinking, 'thinking text');
  check(message.content[0].signature.length > 20, 'signature delta');
  equal(message.stop_reason, 'end_turn', 'stop_reason');
  equal(message.usage.output_tokens_details, { thinking_tokens: 512 }, 'usage');
  const whole = await client().messages.create(
    ask('Stream a reply please.', { thinking: { type: 'adaptive', display: 'summarized' } }));
  equal(message.content, whole.content, 'same as create');
});

test('thinking blocks sent back unchanged are accepted', async () => {
  const anthropic = client();
  const first = await anthropic.messages.create(ask('First question.'));
  const second = await anthropic.messages.create({
    ...ask('unused'),
    messages: [{ role: 'user', content: 'First question.' },
               { role: 'assistant', content: first.content },
               { role: 'user', content: 'And then?' }],
  });
  equal(second.stop_reason, 'end_turn', 'second turn');
  const edited = structuredClone(first.content);
  edited[0].thinking = 'changed';
  await rejects(anthropic.messages.create({
    ...ask('unused'),
    messages: [{ role: 'user', content: 'First question.' },
               { role: 'assistant', content: edited },
               { role: 'user', content: 'And then?' }],
  }), Anthropic.BadRequestError, 400, 'edited thinking');
});

test('structured output: output_config.format and messages.parse', async () => {
  const anthropic = client();
  const message = await anthropic.messages.create(ask("Let's go with Redis.", {
    model: HAIKU,
    output_config: { format: { type: 'json_schema', schema: jsonSchemaOutputFormat(INTENT).schema },
                     effort: 'low' },
  }));
  const text = message.content.find((b) => b.type === 'text').text;
  const value = JSON.parse(text);
  equal(value.intent, 'deciding', 'intent');
  check(value.confidence >= 60 && value.confidence <= 95, `confidence ${value.confidence}`);
  equal(message.usage.output_tokens_details, { thinking_tokens: 32 }, 'low effort');
  const parsed = await anthropic.messages.parse(ask("Let's go with Redis.", {
    model: HAIKU,
    output_config: { format: jsonSchemaOutputFormat(INTENT) },
  }));
  equal(parsed.parsed_output, value, 'parsed_output');
  const streamed = await anthropic.messages.stream(ask("Let's go with Redis.", {
    model: HAIKU,
    output_config: { format: jsonSchemaOutputFormat(INTENT), effort: 'low' },
  })).finalMessage();
  equal(JSON.parse(streamed.content.find((b) => b.type === 'text').text), value, 'streamed');
  equal((await stats()).by_tool, { classify_intent: 3 }, 'labelled by title');
});

test('a schema outside the subset is refused', async () => {
  const raw = { type: 'object', properties: { n: { type: 'integer', minimum: 1 } },
                additionalProperties: false };
  const error = await rejects(client().messages.create(ask('x', {
    output_config: { format: { type: 'json_schema', schema: raw } },
  })), Anthropic.BadRequestError, 400, 'minimum');
  check(error.message.includes('output_config.format.schema.properties.n.minimum'),
        error.message);
});

test('refused: forced tool_choice on Sonnet 5.5, temperature on 2026-10-21', async () => {
  const anthropic = client();
  const tools = [{ name: 'classify_intent', input_schema: INTENT }];
  for (const toolChoice of [{ type: 'any' }, { type: 'tool', name: 'classify_intent' }]) {
    const error = await rejects(anthropic.messages.create(ask('x', { tools, tool_choice: toolChoice })),
                                Anthropic.BadRequestError, 400, 'forced tool');
    check(error.message.includes('tool_choice'), error.message);
  }
  for (const model of [SONNET, LEGACY]) {
    const error = await rejects(anthropic.messages.create(ask('x', { model, temperature: 0.5 })),
                                Anthropic.BadRequestError, 400, 'temperature');
    check(error.message.includes('temperature: Extra inputs are not permitted'), error.message);
  }
  const called = await anthropic.messages.create(ask('x', {
    tools, tool_choice: { type: 'auto', disable_parallel_tool_use: true },
  }));
  equal(called.stop_reason, 'tool_use', 'auto calls the tool');
  await rejects(anthropic.messages.create(ask('x', { thinking: { type: 'disabled' } })),
                Anthropic.BadRequestError, 400, 'disabled on Sonnet 5.5');
});

test('retired and unknown models: NotFoundError', async () => {
  const anthropic = client();
  for (const model of [RETIRED, 'claude-3-opus-20240229']) {
    await rejects(anthropic.messages.create(ask('x', { model, max_tokens: 100 })),
                  Anthropic.NotFoundError, 404, model);
  }
});

// -- models -------------------------------------------------------------

test('models.retrieve: capabilities, an alias, a retired and an unknown model', async () => {
  const anthropic = client();
  const sonnet = await anthropic.models.retrieve(SONNET);
  equal(sonnet.lifecycle, 'active', 'lifecycle');
  equal(sonnet.max_tokens, 128000, 'max_tokens');
  equal(sonnet.capabilities.thinking.types.between_tools.supported, true, 'between_tools');
  equal(sonnet.capabilities.thinking.types.disabled.supported, false, 'disabled');
  equal(sonnet.capabilities.structured_outputs.supported, true, 'structured outputs');
  const haiku = await anthropic.models.retrieve('claude-haiku-4-5');
  equal(haiku.id, LEGACY, 'alias');
  equal(haiku.capabilities.effort.supported, false, 'no effort');
  const retired = await anthropic.models.retrieve(RETIRED);
  equal(retired.lifecycle, 'retired', 'retired');
  equal(retired.retires_at, '2026-11-30T00:00:00Z', 'retires_at');
  await rejects(anthropic.models.retrieve('claude-3-opus-20240229'), Anthropic.NotFoundError, 404,
                'unknown');
});

test('models.list: pages newest first, retired only on request', async () => {
  const anthropic = client();
  const ids = [];
  for await (const info of anthropic.models.list({ limit: 3 })) ids.push(info.id);
  equal(ids.length, 10, `all pages ${ids}`);
  equal(ids[0], 'claude-fable-5-2', 'newest first');
  check(!ids.includes(RETIRED), 'no retired model by default');
  const first = await anthropic.models.list({ limit: 3 });
  equal(first.data.length, 3, 'one page');
  check(first.has_more && first.hasNextPage(), 'has_more');
  const retired = await anthropic.models.list({ lifecycle: ['retired'] });
  equal(retired.data.map((m) => m.id), [RETIRED], 'retired on request');
});

test('an announced deprecation, then the retirement date: NotFoundError', async () => {
  const anthropic = client();
  try {
    await control('POST', 'models',
                  { id: HAIKU, deprecated_at: '2026-12-01', retires_at: '2027-03-01' });
    const info = await anthropic.models.retrieve(HAIKU);
    equal(info.lifecycle, 'deprecated', 'lifecycle');
    equal(info.retires_at, '2027-03-01T00:00:00Z', 'retires_at');
    equal((await anthropic.messages.create(ask('x', { model: HAIKU }))).stop_reason, 'end_turn',
          'a deprecated model still answers');
    await control('POST', 'config', { today: '2027-03-02' });
    equal((await anthropic.models.retrieve(HAIKU)).lifecycle, 'retired', 'retired');
    await rejects(anthropic.messages.create(ask('x', { model: HAIKU })),
                  Anthropic.NotFoundError, 404, 'a retired Haiku 5.5');
  } finally {
    await control('POST', 'reset');   // the date and the announcement, for the tests after
  }
});

// -- faults: error classes and retries ----------------------------------

test('each HTTP fault raises the SDK error class', async () => {
  const cases = [
    ['bad_request', Anthropic.BadRequestError, 400],
    ['payment_required', Anthropic.PaymentRequiredError, 402],
    ['request_timeout', Anthropic.RequestTimeoutError, 408],
    ['conflict', Anthropic.ConflictError, 409],
    ['rate_limit', Anthropic.RateLimitError, 429],
    ['spend_cap', EnforcedSpendLimitReachedError, 429],
    ['server_error', Anthropic.InternalServerError, 500],
    ['timeout', Anthropic.GatewayTimeoutError, 504],
    ['overloaded', Anthropic.OverloadedError, 529],
  ];
  const anthropic = client();
  for (const [kind, ErrorClass, status] of cases) {
    await faults({ kind });
    const error = await rejects(anthropic.messages.create(ask('x')), ErrorClass, status, kind);
    check(/^req_/.test(error.requestID), `${kind} request id`);
    if (kind === 'spend_cap') {
      equal(error.errorCode, 'enforced_spend_limit_reached', 'error code');
      check(error instanceof Anthropic.RateLimitError, 'a RateLimitError');
    }
  }
});

test('a retried 529 then succeeds', async () => {
  await faults({ kind: 'overloaded', retry_after_ms: 10 });
  const message = await client({ maxRetries: 2 }).messages.create(ask('x'));
  equal(message.stop_reason, 'end_turn', 'answer');
  const seen = await stats();
  equal(seen.requests, 2, 'one retry');
  equal(seen.by_status, { 200: 1, 529: 1 }, 'statuses');
});

test('retries run out: three 500s with maxRetries 2', async () => {
  await faults({ kind: 'server_error', count: 3, retry_after_ms: 10 });
  await rejects(client({ maxRetries: 2 }).messages.create(ask('x')),
                Anthropic.InternalServerError, 500, 'exhausted');
  equal((await stats()).requests, 3, 'three tries');
});

test('spend_cap is not retried (x-should-retry: false)', async () => {
  await faults({ kind: 'spend_cap', count: 3 });
  await rejects(client({ maxRetries: 2 }).messages.create(ask('x')),
                EnforcedSpendLimitReachedError, 429, 'spend cap');
  equal((await stats()).requests, 1, 'one try');
});

test('x_should_retry overrides the SDK default both ways', async () => {
  await faults({ kind: 'server_error', x_should_retry: false });
  await rejects(client({ maxRetries: 2 }).messages.create(ask('x')),
                Anthropic.InternalServerError, 500, '500 not retried');
  equal((await stats()).requests, 1, 'no retry of the 500');
  await settled();
  await control('POST', 'reset');
  await faults({ kind: 'bad_request', x_should_retry: true, retry_after_ms: 10 });
  const message = await client({ maxRetries: 2 }).messages.create(ask('x'));
  equal(message.stop_reason, 'end_turn', 'a 400 retried');
  equal((await stats()).requests, 2, 'retried once');
});

test('rate_limit with retry-after-ms is retried quickly', async () => {
  await faults({ kind: 'rate_limit', count: 2, retry_after_ms: 10, retry_after: 30 });
  const started = Date.now();
  await client({ maxRetries: 2 }).messages.create(ask('x'));
  check(Date.now() - started < 5000, 'retry-after-ms wins over retry-after');
  equal((await stats()).requests, 3, 'two retries');
});

test('a spent rate limit is a RateLimitError with the headers to pace on', async () => {
  if (60 - (Date.now() / 1000) % 60 < 5) await new Promise((r) => setTimeout(r, 6000));
  await control('POST', 'config', { rate_limit_requests: 1 });
  try {
    const anthropic = client();
    const { response } = await anthropic.messages.create(ask('x')).withResponse();
    equal(response.headers.get('anthropic-ratelimit-requests-remaining'), '0', 'remaining');
    const error = await rejects(anthropic.messages.create(ask('x')), Anthropic.RateLimitError,
                                429, 'past the limit');
    equal(error.headers.get('x-should-retry'), 'true', 'x-should-retry');
    check(Number(error.headers.get('retry-after')) >= 1, 'retry-after');
    check(Date.parse(error.headers.get('anthropic-ratelimit-requests-reset')) > Date.now(),
          'reset ahead');
    const other = await anthropic.messages.create(ask('x', { model: HAIKU }));
    equal(other.stop_reason, 'end_turn', 'another family');
  } finally {
    await control('POST', 'config', { rate_limit_requests: 50000 });
  }
});

test('stream_error raises mid-stream', async () => {
  await faults({ kind: 'stream_error' });
  const stream = client().messages.stream(ask('Break this stream after a few words.'));
  const error = await rejects(stream.finalMessage(), Anthropic.APIError, undefined, 'stream');
  equal(error.type ?? error.error?.error?.type, 'overloaded_error', 'error type');
});

test('stop-reason faults: refusal, context_exceeded, pause_turn', async () => {
  const anthropic = client();
  await faults({ kind: 'refusal' });
  const refused = await anthropic.messages.create(ask('x'));
  equal(refused.stop_reason, 'refusal', 'refusal');
  equal(refused.stop_details?.type, 'refusal', 'stop_details.type');
  equal(refused.stop_details?.category, 'cyber', 'category');
  check(refused.content.every((b) => b.type === 'thinking'), 'no text');
  await faults({ kind: 'refusal' });
  const streamed = await anthropic.messages.stream(ask('A longer question to refuse.')).finalMessage();
  equal(streamed.stop_reason, 'refusal', 'streamed refusal');
  equal(streamed.stop_details, refused.stop_details, 'streamed stop_details');
  await faults({ kind: 'context_exceeded' }, { kind: 'pause_turn' });
  equal((await anthropic.messages.create(ask('x'))).stop_reason, 'model_context_window_exceeded',
        'context');
  equal((await anthropic.messages.create(ask('x'))).stop_reason, 'pause_turn', 'pause');
});

// -- the last SDK on 2023-06-01 (X-Api-Key) ------------------------------

test('SDK 0.137: 2023-06-01 with X-Api-Key', async () => {
  const anthropic = legacyClient();
  const message = await anthropic.messages.create(ask('Hello from the old SDK.'));
  equal(message.content.map((b) => b.type), ['thinking', 'text'], 'blocks');
  const sent = await lastRequest();
  equal([sent.version, sent.auth], ['2023-06-01', 'x-api-key'], 'SDK 0.137 headers');
  await anthropic.messages.create(ask('x', { temperature: 1 }));
  await rejects(anthropic.messages.create(ask('x', { temperature: 0.5 })),
                LegacyAnthropic.BadRequestError, 400, 'temperature 0.5 on Sonnet 5.5');
  await rejects(anthropic.messages.create(ask('x', { top_k: 5 })),
                LegacyAnthropic.BadRequestError, 400, 'top_k on Sonnet 5.5');
  const tools = [{ name: 'classify_intent', input_schema: INTENT }];
  const forced = await anthropic.messages.create(ask("Let's go with it.", {
    model: LEGACY, temperature: 0.2, tools, tool_choice: { type: 'tool', name: 'classify_intent' },
  }));
  equal(forced.content[0].type, 'tool_use', 'forced tool on Haiku 4.5');
  equal(forced.content[0].input.intent, 'deciding', 'intent');
  const info = await anthropic.models.retrieve(HAIKU);
  equal(info.capabilities.thinking.types.disabled.supported, true, 'models on 2023-06-01');
  // The double runs with --api-key: another key is refused.
  await rejects(legacyClient({ apiKey: `${apiKey}-wrong` }).messages.create(ask('x')),
                LegacyAnthropic.AuthenticationError, 401, 'wrong key');
});

// -----------------------------------------------------------------------

let passed = 0;
let failed = 0;
for (const { name, fn } of tests) {
  if (only.length && !only.some((part) => name.includes(part))) continue;
  try {
    await settled();
    await control('POST', 'reset');
    await fn();
    passed += 1;
    console.log(`PASS ${name}`);
  } catch (error) {
    failed += 1;
    console.log(`FAIL ${name}: ${error?.stack ?? error}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
