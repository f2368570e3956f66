// A protocol-faithful fake OpenAI-compatible chat-completions server for the
// browser tests (the C++ tests use tests/support/fake_openai.h). It listens on
// 127.0.0.1 with an ephemeral port and answers POST /v1/chat/completions:
// `"stream": true` gets `chat.completion.chunk` SSE events (the content in
// several chunks, a finish chunk, a usage chunk when stream_options.include_usage
// is set, then `data: [DONE]`); otherwise one `chat.completion` JSON body.
// `reply(request)` picks the content for each request; every request is recorded.
import http from 'node:http';

export async function startFakeOpenAi(reply) {
  const requests = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      if (req.method !== 'POST' || !req.url.endsWith('/chat/completions')) {
        res.writeHead(404, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
        return;
      }
      let json;
      try { json = JSON.parse(body); } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ error: { message: 'body is not JSON', type: 'invalid_request_error' } }));
        return;
      }
      requests.push(json);
      const content = String(reply(json));
      const id = `chatcmpl-${requests.length}`;
      const created = Math.floor(Date.now() / 1000);
      const model = json.model || 'fake-model';
      const usage = { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 };
      if (!json.stream) {
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({
          id, object: 'chat.completion', created, model,
          choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage,
        }));
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
      const chunk = (delta, finish) => `data: ${JSON.stringify({
        id, object: 'chat.completion.chunk', created, model, choices: [{ index: 0, delta, finish_reason: finish }],
      })}\n\n`;
      const chars = [...content];
      const step = Math.max(1, Math.ceil(chars.length / 3));
      res.write(chunk({ role: 'assistant', content: '' }, null));
      for (let i = 0; i < chars.length; i += step) res.write(chunk({ content: chars.slice(i, i + step).join('') }, null));
      res.write(chunk({}, 'stop'));
      if (json.stream_options && json.stream_options.include_usage) {
        res.write(`data: ${JSON.stringify({ id, object: 'chat.completion.chunk', created, model, choices: [], usage })}\n\n`);
      }
      res.end('data: [DONE]\n\n');
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address();
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }),
  };
}
