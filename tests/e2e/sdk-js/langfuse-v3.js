'use strict';
// A support agent traced with the Langfuse v3 JS SDK (`langfuse` 3.x) as its
// docs show it: every call is queued and sent in batches to
// POST <baseUrl>/api/public/ingestion. Nothing is patched: only the base URL
// and keys point at AgentTrace.
//
// The trace: span "retrieve" > generation "answer-llm" (usage without a
// total, usageDetails with cache reads, model parameters, chat messages),
// event "feedback-shown" on the trace, a score, and updates after the
// creates (generation.end, span.end, trace.update). Prints
// {traceId, observations: {name: id}, versions} as JSON.

const { Langfuse } = require('langfuse');
const { settings, versions, main } = require('./common');

main(async () => {
  const cfg = settings();
  const langfuse = new Langfuse({
    publicKey: cfg.publicKey,
    secretKey: cfg.secretKey,
    baseUrl: cfg.baseUrl,
    release: 'v3-release',
    environment: 'e2e',
  });
  const errors = [];
  langfuse.on('error', (e) => errors.push(String(e && e.message ? e.message : e)));

  const trace = langfuse.trace({
    name: 'support-agent-v3',
    userId: `user-v3-${cfg.run}`,
    sessionId: `session-v3-${cfg.run}`,
    tags: ['e2e', 'langfuse-v3', `run-${cfg.run}`],
    version: '3.0.0',
    metadata: { plan: 'pro', attempts: 3, ratio: 0.25, flags: { beta: true, tier: 2 }, regions: ['eu', 'us'] },
    input: { question: 'Where is order 9?' },
  });
  const span = trace.span({ name: 'retrieve', input: { query: 'order 9' }, metadata: { index: 'orders' } });
  const gen = span.generation({
    name: 'answer-llm',
    model: 'gpt-4o-mini',
    modelParameters: { temperature: 0.1, maxTokens: 200 },
    input: [
      { role: 'system', content: 'You answer order questions.' },
      { role: 'user', content: 'Where is order 9?' },
    ],
    usage: { input: 2000, output: 500 },
    // The newer usageDetails win over usage, in Langfuse's convention (each
    // key a separate unit): Anthropic's cache reads beside the uncached
    // input. On the create, since only an event that names the model is
    // priced.
    usageDetails: { input: 1500, cache_read_input_tokens: 500, output: 500 },
  });
  gen.end({ output: { role: 'assistant', content: 'Order 9 ships tomorrow.' } });
  span.end({ output: { documents: 1 } });
  const ev = trace.event({ name: 'feedback-shown', input: { widget: 'thumbs' }, level: 'DEBUG' });
  trace.score({ name: 'accuracy', value: 1, comment: 'correct date' });
  trace.update({ output: { answer: 'Order 9 ships tomorrow.' } });

  await langfuse.shutdownAsync();
  if (errors.length) throw new Error(`langfuse reported: ${errors.join('; ')}`);
  return {
    traceId: trace.id,
    observations: { retrieve: span.id, 'answer-llm': gen.id, 'feedback-shown': ev.id },
    versions: versions('langfuse', 'langfuse-core'),
  };
});
