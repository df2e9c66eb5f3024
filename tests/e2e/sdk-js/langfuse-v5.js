'use strict';
// A support agent traced with the Langfuse v5 JS SDK as its docs show it:
// @langfuse/tracing on an OpenTelemetry NodeTracerProvider with the
// LangfuseSpanProcessor (@langfuse/otel), which exports to
// <baseUrl>/api/public/otel/v1/traces; then a score through @langfuse/client
// (POST /api/public/ingestion). Nothing is patched: only the base URL and
// keys point at AgentTrace.
//
// The trace: agent "support-agent" > chain "plan" > generation "plan-llm",
// agent > tool "cancel_order", agent > event "order-cancelled"; user,
// session, tags, metadata, name and version propagated to every span; a
// numeric score on the trace and a categorical one on the generation.
// Prints {traceId, observations: {name: id}, versions} as JSON.

const { NodeTracerProvider } = require('@opentelemetry/sdk-trace-node');
const { LangfuseSpanProcessor } = require('@langfuse/otel');
const { startActiveObservation, startObservation, propagateAttributes } = require('@langfuse/tracing');
const { LangfuseClient } = require('@langfuse/client');
const { settings, versions, main } = require('./common');

main(async () => {
  const cfg = settings();
  const failures = [];
  const processor = new LangfuseSpanProcessor({
    publicKey: cfg.publicKey,
    secretKey: cfg.secretKey,
    baseUrl: cfg.baseUrl,
    environment: 'e2e',
    release: 'v5-release',
  });
  const provider = new NodeTracerProvider({ spanProcessors: [processor] });
  provider.register();

  const ids = {};
  let traceId;
  await propagateAttributes({
    userId: `user-v5-${cfg.run}`,
    sessionId: `session-v5-${cfg.run}`,
    tags: ['e2e', 'langfuse-v5', `run-${cfg.run}`],
    metadata: { plan: 'pro', region: 'eu-west-1' },
    traceName: 'support-agent-v5',
    version: '5.0.0',
  }, () => startActiveObservation('support-agent', async (agent) => {
    traceId = agent.traceId;
    ids['support-agent'] = agent.id;
    agent.update({ input: { question: 'Cancel order 7, please.' }, metadata: { channel: 'chat' } });
    agent.setTraceIO({ input: { question: 'Cancel order 7, please.' }, output: { answer: 'Order 7 is cancelled.' } });

    await startActiveObservation('plan', async (chain) => {
      ids.plan = chain.id;
      chain.update({ input: { step: 'plan' } });
      const gen = startObservation('plan-llm', {
        model: 'gpt-4o-mini',
        modelParameters: { temperature: 0.2, max_tokens: 300 },
        input: [
          { role: 'system', content: 'You are a support agent.' },
          { role: 'user', content: 'Cancel order 7, please.' },
        ],
      }, { asType: 'generation' });
      ids['plan-llm'] = gen.id;
      gen.update({
        output: { role: 'assistant', content: 'I will call cancel_order for order 7.' },
        // Langfuse's convention: every key a separate unit (input leaves
        // out the cached tokens; total is the sum of all keys).
        usageDetails: { input: 400, input_cached_tokens: 800, output: 300, total: 1500 },
      }).end();
      chain.update({ output: { tool: 'cancel_order' } });
    }, { asType: 'chain' });

    const tool = startObservation('cancel_order', { input: { order_id: 7 } }, { asType: 'tool' });
    ids.cancel_order = tool.id;
    tool.update({ output: { cancelled: true } }).end();

    const ev = startObservation('order-cancelled', { input: { order_id: 7 }, level: 'WARNING', statusMessage: 'refund pending' }, { asType: 'event' });
    ids['order-cancelled'] = ev.id;

    agent.update({ output: { answer: 'Order 7 is cancelled.' } });
  }, { asType: 'agent' }));

  await processor.forceFlush();

  const langfuse = new LangfuseClient({ publicKey: cfg.publicKey, secretKey: cfg.secretKey, baseUrl: cfg.baseUrl });
  langfuse.score.create({ traceId, name: 'helpfulness', value: 0.9, comment: 'solved at once', dataType: 'NUMERIC' });
  langfuse.score.create({ traceId, observationId: ids['plan-llm'], name: 'tone', value: 'polite', dataType: 'CATEGORICAL' });
  await langfuse.flush();
  await langfuse.shutdown();
  await provider.shutdown();
  if (failures.length) throw new Error(failures.join('; '));
  return {
    traceId,
    observations: ids,
    versions: versions('@langfuse/tracing', '@langfuse/otel', '@langfuse/client', '@opentelemetry/sdk-trace-node'),
  };
});
