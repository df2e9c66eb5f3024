'use strict';
// An app built on the Vercel AI SDK (`ai` 5.x) with its telemetry on
// (experimental_telemetry), exported the two ways its users do:
//   AGENTTRACE_EXPORT=otlp      the OpenTelemetry JS SDK's OTLP/HTTP protobuf
//                               exporter to <baseUrl>/v1/traces
//   AGENTTRACE_EXPORT=langfuse  the LangfuseSpanProcessor (@langfuse/otel), as
//                               Langfuse's Vercel AI SDK guide shows, to
//                               <baseUrl>/api/public/otel/v1/traces
// The models are the SDK's own mocks (ai/test), so no provider is called:
//   generateText  a tool call (get_weather, executed), then a second step
//                 that answers;
//   streamText    a streamed answer (simulateReadableStream);
//   embed         an embedding.
// Each call is one trace. Prints {mode, traces: {functionId: trace id},
// spans: {functionId: [{id, parent, name, events}]}, versions} as JSON (ids
// in hex).

const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { BatchSpanProcessor } = require('@opentelemetry/sdk-trace-base');
const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-proto');
const { ExportResultCode } = require('@opentelemetry/core');
const { resourceFromAttributes } = require('@opentelemetry/resources');
const { LangfuseSpanProcessor } = require('@langfuse/otel');
const { generateText, streamText, embed, tool, stepCountIs, simulateReadableStream } = require('ai');
const { MockLanguageModelV2, MockEmbeddingModelV2 } = require('ai/test');
const { z } = require('zod');
const { settings, versions, main } = require('./common');

function processorFor(cfg, mode, failures) {
  if (mode === 'langfuse') {
    return new LangfuseSpanProcessor({ publicKey: cfg.publicKey, secretKey: cfg.secretKey, baseUrl: cfg.baseUrl, environment: 'e2e' });
  }
  if (mode !== 'otlp') throw new Error(`AGENTTRACE_EXPORT must be otlp or langfuse, not ${mode}`);
  const exporter = new OTLPTraceExporter({
    url: `${cfg.baseUrl}/v1/traces`,
    headers: { Authorization: 'Basic ' + Buffer.from(`${cfg.publicKey}:${cfg.secretKey}`).toString('base64') },
  });
  // A failed export fails the run instead of only being logged.
  return new BatchSpanProcessor({
    export(spans, done) {
      exporter.export(spans, (r) => {
        if (r.code !== ExportResultCode.SUCCESS) failures.push(r.error ? r.error.message : 'export failed');
        done(r);
      });
    },
    shutdown: () => exporter.shutdown(),
    forceFlush: () => exporter.forceFlush(),
  });
}

const usage = (input, output) => ({ inputTokens: input, outputTokens: output, totalTokens: input + output });

// The chat model: the first call asks for the tool, the second answers.
function chatModel() {
  return new MockLanguageModelV2({
    provider: 'openai.chat',
    modelId: 'gpt-4o-mini',
    doGenerate: [
      {
        content: [{ type: 'tool-call', toolCallId: 'call_weather_1', toolName: 'get_weather', input: JSON.stringify({ city: 'Paris' }) }],
        finishReason: 'tool-calls',
        usage: usage(1000, 100),
        warnings: [],
      },
      {
        content: [{ type: 'text', text: 'It is 18°C and sunny in Paris.' }],
        finishReason: 'stop',
        usage: usage(1500, 200),
        warnings: [],
      },
    ],
    doStream: {
      stream: simulateReadableStream({
        chunks: [
          { type: 'stream-start', warnings: [] },
          { type: 'text-start', id: 't1' },
          { type: 'text-delta', id: 't1', delta: 'Bonjour, ' },
          { type: 'text-delta', id: 't1', delta: 'Paris!' },
          { type: 'text-end', id: 't1' },
          { type: 'finish', finishReason: 'stop', usage: usage(400, 50) },
        ],
      }),
    },
  });
}

function embeddingModel() {
  return new MockEmbeddingModelV2({
    provider: 'openai.embedding',
    modelId: 'text-embedding-3-small',
    doEmbed: async ({ values }) => ({ embeddings: values.map(() => [0.1, 0.2, 0.3]), usage: { tokens: 12 } }),
  });
}

main(async () => {
  const cfg = settings();
  const mode = process.env.AGENTTRACE_EXPORT || 'otlp';
  const failures = [];
  // seen notes, by functionId, each call's trace id (its root span's) and
  // spans, for the test to compare with what the API shows.
  const traces = {};
  const spans = {};
  const seen = {
    onStart() {},
    onEnd(span) {
      const fn = span.attributes['ai.telemetry.functionId'];
      if (!fn) return;
      const parent = span.parentSpanContext ? span.parentSpanContext.spanId : '';
      (spans[fn] = spans[fn] || []).push({ id: span.spanContext().spanId, parent, name: span.name, events: span.events.map((e) => e.name) });
      if (!parent) traces[fn] = span.spanContext().traceId;
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'weather-app' }),
    spanProcessors: [processorFor(cfg, mode, failures), seen],
  });
  provider.register();

  const telemetry = (functionId) => ({
    isEnabled: true,
    functionId,
    metadata: {
      userId: `user-ai-${mode}-${cfg.run}`,
      sessionId: `session-ai-${mode}-${cfg.run}`,
      tags: ['e2e', 'vercel-ai', mode],
      plan: 'pro',
    },
  });

  const weather = tool({
    description: 'The weather in a city',
    inputSchema: z.object({ city: z.string() }),
    execute: async ({ city }) => {
      return { city, celsius: 18, sky: 'sunny' };
    },
  });
  const gen = await generateText({
    model: chatModel(),
    system: 'You are a weather assistant.',
    prompt: 'What is the weather in Paris?',
    tools: { get_weather: weather },
    stopWhen: stepCountIs(3),
    temperature: 0.3,
    experimental_telemetry: telemetry('weather-chat'),
  });
  if (gen.steps.length !== 2 || !gen.text.includes('Paris')) throw new Error(`generateText: unexpected result ${JSON.stringify(gen.steps.length)} steps: ${gen.text}`);

  const streamed = streamText({
    model: chatModel(),
    prompt: 'Greet Paris.',
    experimental_telemetry: telemetry('greeting-stream'),
  });
  let text = '';
  for await (const part of streamed.textStream) text += part;
  if (text !== 'Bonjour, Paris!') throw new Error(`streamText: got ${text}`);

  const emb = await embed({
    model: embeddingModel(),
    value: 'sunny weather in Paris',
    experimental_telemetry: telemetry('weather-embed'),
  });
  if (emb.embedding.length !== 3) throw new Error('embed: unexpected embedding');

  await provider.forceFlush();
  await provider.shutdown();
  if (failures.length) throw new Error(`export failed: ${failures.join('; ')}`);
  return {
    mode,
    traces,
    spans,
    versions: versions('ai', '@opentelemetry/sdk-trace-node', '@opentelemetry/exporter-trace-otlp-proto', '@langfuse/otel'),
  };
});
