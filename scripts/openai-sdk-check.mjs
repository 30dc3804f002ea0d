// Drives an OpenAI-compatible server with the official OpenAI Node SDK and prints what it saw as one JSON line.
// Usage: node scripts/openai-sdk-check.mjs BASE_URL MODEL   (the SDK is loaded from $SPLITWISE_OPENAI_SDK,
// default ~/.cache/splitwise/openai-sdk, where scripts/install-openai-sdk.sh puts it)
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const [baseUrl, model] = process.argv.slice(2);
const sdkDir = process.env.SPLITWISE_OPENAI_SDK ?? path.join(os.homedir(), '.cache', 'splitwise', 'openai-sdk');
const require = createRequire(path.join(sdkDir, 'index.js'));
const OpenAI = require('openai').default;
const client = new OpenAI({ baseURL: baseUrl.replace(/\/$/, '') + '/v1', apiKey: 'sk-test', maxRetries: 0, timeout: 30000 });
const out = { sdk: JSON.parse(fs.readFileSync(path.join(sdkDir, 'node_modules', 'openai', 'package.json'), 'utf8')).version };

const models = await client.models.list();
out.models = models.data.map(m => ({ id: m.id, max_model_len: m.max_model_len }));
out.retrieved = (await client.models.retrieve(model)).id;

const completion = await client.completions.create({ model, prompt: 'Tell me about phase splitting', max_tokens: 5, ignore_eos: true });
out.completion = { text_chars: completion.choices[0].text.length, finish: completion.choices[0].finish_reason, usage: completion.usage };

const stream = await client.chat.completions.create({
  model, messages: [{ role: 'user', content: 'Hello there, how are you?' }], max_tokens: 7, ignore_eos: true,
  stream: true, stream_options: { include_usage: true },
});
let chunks = 0, content = '', usage = null, finish = null;
for await (const chunk of stream) {
  chunks++;
  for (const choice of chunk.choices) {
    content += choice.delta?.content ?? '';
    finish = choice.finish_reason ?? finish;
  }
  usage = chunk.usage ?? usage;
}
out.chat_stream = { chunks, content_chars: content.length, finish, usage };

async function error(call) {
  try {
    await call();
    return { error: null };
  } catch (e) {
    return { error: e.constructor.name, status: e.status, code: e.code ?? null };
  }
}
out.unknown_model = await error(() => client.completions.create({ model: 'gpt-9', prompt: 'x', max_tokens: 1 }));
out.too_long = await error(() => client.completions.create({ model, prompt: 'x', max_tokens: 1000000 }));
out.missing_model = await error(() => client.models.retrieve('gpt-9'));
console.log(JSON.stringify(out));
