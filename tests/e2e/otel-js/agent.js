'use strict';
// A fake support agent instrumented with the official OpenTelemetry JS SDK
// and the GenAI semantic conventions: one agent run (an agent span, a chat
// generation with usage, a tool call, a failing tool call) exported over
// OTLP/HTTP protobuf, gzip-compressed, then flushed before exit.
//
// Settings come from the environment (the secret never goes on a command
// line, where `ps` would show it):
//   AGENTTRACE_OTLP_URL            the OTLP/HTTP traces endpoint (…/v1/traces)
//   AGENTTRACE_OTLP_AUTHORIZATION  the Authorization header (Basic pk:sk)
//   AGENTTRACE_RUN_ID              makes the run's session and user ids unique
//   AGENTTRACE_CAPTURE_URL         optional: a second endpoint that receives
//                                  the same export, for the test to compare with
// It prints the trace id on stdout and exits non-zero when an export fails.

const { SpanKind, SpanStatusCode, context, trace } = require('@opentelemetry/api');
const { ExportResultCode } = require('@opentelemetry/core');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } = require('@opentelemetry/semantic-conventions');
const inc = require('@opentelemetry/semantic-conventions/incubating');

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`agent.js: ${name} is not set`);
    process.exit(2);
  }
  return v;
}

// checked wraps an exporter so that a failed export fails the run instead
// of only being logged by the SDK.
function checked(exporter, label, failures) {
  return {
    export(spans, done) {
      exporter.export(spans, (result) => {
        if (result.code !== ExportResultCode.SUCCESS) {
          failures.push(`${label}: ${result.error ? result.error.message : 'export failed'}`);
        }
        done(result);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => (exporter.forceFlush ? exporter.forceFlush() : Promise.resolve()),
  };
}

function processors(failures) {
  const targets = [{
    label: 'platform',
    url: required('AGENTTRACE_OTLP_URL'),
    headers: { Authorization: required('AGENTTRACE_OTLP_AUTHORIZATION') },
  }];
  if (process.env.AGENTTRACE_CAPTURE_URL) {
    targets.push({ label: 'capture', url: process.env.AGENTTRACE_CAPTURE_URL, headers: {} });
  }
  return targets.map((t) => new BatchSpanProcessor(checked(
    new OTLPTraceExporter({ url: t.url, headers: t.headers, compression: 'gzip', timeoutMillis: 30000 }),
    t.label, failures)));
}

// at is base plus ms milliseconds.
const at = (base, ms) => new Date(base + ms);

function runAgent(tracer, run, base) {
  const agent = tracer.startSpan('invoke_agent js-support-agent', {
    startTime: at(base, 0),
    attributes: {
      [inc.ATTR_GEN_AI_OPERATION_NAME]: 'invoke_agent',
      [inc.ATTR_GEN_AI_AGENT_NAME]: 'js-support-agent',
      [inc.ATTR_GEN_AI_CONVERSATION_ID]: `conv-js-${run}`,
      [inc.ATTR_USER_ID]: `user-js-${run}`,
      'input.value': 'Cancel order 7, please.',
      'output.value': 'Order 7 is cancelled.',
      'app.runtime': 'node',
    },
  });
  const ctx = trace.setSpan(context.active(), agent);

  const chat = tracer.startSpan('chat gpt-4o-mini', {
    kind: SpanKind.CLIENT,
    startTime: at(base, 100),
    attributes: {
      [inc.ATTR_GEN_AI_OPERATION_NAME]: 'chat',
      [inc.ATTR_GEN_AI_PROVIDER_NAME]: 'openai',
      [inc.ATTR_GEN_AI_REQUEST_MODEL]: 'gpt-4o-mini',
      [inc.ATTR_GEN_AI_RESPONSE_MODEL]: 'gpt-4o-mini-2024-07-18',
      [inc.ATTR_GEN_AI_REQUEST_TEMPERATURE]: 0.5,
      [inc.ATTR_GEN_AI_REQUEST_MAX_TOKENS]: 300,
      [inc.ATTR_GEN_AI_RESPONSE_FINISH_REASONS]: ['tool_calls'],
      [inc.ATTR_GEN_AI_USAGE_INPUT_TOKENS]: 2048,
      [inc.ATTR_GEN_AI_USAGE_OUTPUT_TOKENS]: 128,
      [inc.ATTR_GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS]: 1536,
      [inc.ATTR_GEN_AI_INPUT_MESSAGES]: JSON.stringify([
        { role: 'user', parts: [{ type: 'text', content: 'Cancel order 7, please.' }] },
      ]),
      [inc.ATTR_GEN_AI_OUTPUT_MESSAGES]: JSON.stringify([
        { role: 'assistant', parts: [{ type: 'tool_call', id: 'call_js_1', name: 'cancel_order', arguments: { order_id: 7 } }], finish_reason: 'tool_call' },
      ]),
    },
  }, ctx);
  chat.end(at(base, 900));

  const tool = tracer.startSpan('execute_tool cancel_order', {
    startTime: at(base, 1000),
    attributes: {
      [inc.ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
      [inc.ATTR_GEN_AI_TOOL_NAME]: 'cancel_order',
      [inc.ATTR_GEN_AI_TOOL_CALL_ID]: 'call_js_1',
      [inc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: JSON.stringify({ order_id: 7 }),
      [inc.ATTR_GEN_AI_TOOL_CALL_RESULT]: JSON.stringify({ cancelled: true }),
    },
  }, ctx);
  tool.end(at(base, 1200));

  const email = tracer.startSpan('execute_tool send_email', {
    startTime: at(base, 1300),
    attributes: {
      [inc.ATTR_GEN_AI_OPERATION_NAME]: 'execute_tool',
      [inc.ATTR_GEN_AI_TOOL_NAME]: 'send_email',
      [inc.ATTR_GEN_AI_TOOL_CALL_ARGUMENTS]: JSON.stringify({ to: 'customer' }),
    },
  }, ctx);
  const err = new Error('SMTP relay refused the message');
  err.name = 'SmtpError';
  email.recordException(err, at(base, 1400));
  email.setStatus({ code: SpanStatusCode.ERROR, message: 'email not sent' });
  email.end(at(base, 1450));

  agent.setStatus({ code: SpanStatusCode.OK });
  agent.end(at(base, 1500));
  return agent.spanContext().traceId;
}

async function main() {
  const run = required('AGENTTRACE_RUN_ID');
  const failures = [];
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: 'js-support-bot',
      [ATTR_SERVICE_VERSION]: '2.0.1',
      [inc.ATTR_DEPLOYMENT_ENVIRONMENT_NAME]: 'production',
    }),
    spanProcessors: processors(failures),
  });
  const tracer = provider.getTracer('agenttrace-e2e/fake-agent-js', '0.1.0');
  // A minute ago on a whole millisecond: JS times have millisecond precision.
  const traceId = runAgent(tracer, run, Date.now() - 60000);
  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length > 0) {
    console.error(`agent.js: export failed: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log(traceId);
}

main().catch((e) => {
  console.error(`agent.js: ${e && e.stack ? e.stack : e}`);
  process.exit(1);
});
