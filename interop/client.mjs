// Drives the built nanobanana-mcp binary with the official MCP TypeScript SDK client, as an
// outside harness would, and prints one JSON object with what it saw. The Go test decides.
//
//   node client.mjs stdio <binary> [server args…]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [, , transportName, bin, ...serverArgs] = process.argv;
const out = { tools: [], calls: {} };

async function call(client, name, args, opts = {}) {
  const progress = [];
  try {
    const res = await client.callTool({ name, arguments: args }, undefined, {
      timeout: 20000, resetTimeoutOnProgress: true, onprogress: (p) => progress.push(p), ...opts,
    });
    return {
      isError: !!res.isError,
      types: res.content.map((c) => c.type),
      text: res.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n'),
      structured: res.structuredContent ?? null,
      progress: progress.length,
    };
  } catch (e) {
    return { thrown: String(e && e.message ? e.message : e) };
  }
}

async function main() {
  if (transportName !== 'stdio') throw new Error(`unknown transport ${transportName}`);
  const transport = new StdioClientTransport({ command: bin, args: serverArgs, env: process.env, stderr: 'inherit' });
  const client = new Client({ name: 'interop', version: '1.0.0' }, { capabilities: {} });
  await client.connect(transport);
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.calls.generate = await call(client, 'generate_image', { prompt: 'a lighthouse at dusk', aspect_ratio: '16:9', image_size: '1K' });
  out.calls.badRatio = await call(client, 'generate_image', { prompt: 'x', model: 'nano-banana-pro', aspect_ratio: '8:1' });
  out.calls.explain = await call(client, 'explain_error', {});
  out.calls.listModels = await call(client, 'list_models', {});
  await client.close();
}

main().then(
  () => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (e) => { process.stdout.write(JSON.stringify({ fatal: String(e && e.stack ? e.stack : e), ...out }) + '\n'); process.exitCode = 1; },
);
