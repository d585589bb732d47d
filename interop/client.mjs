// Drives the built nanobanana-mcp binary with the official MCP TypeScript SDK client, as an
// outside harness would, and prints one JSON object with what it saw. The Go test decides.
//
//   node client.mjs stdio <binary> [server args…]
//   node client.mjs sse|http <url> [bearer token]
//   node client.mjs long sse|http|stdio <binary-or-url> [token]   (progress and cancellation)
//   node client.mjs modes sse|http|stdio <binary-or-url> [token]  (every output mode at 4K)
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const args = process.argv.slice(2);
const scenario = ['long', 'modes'].includes(args[0]) ? args.shift() : 'basic';
const [kind, target, ...rest] = args;
const out = { tools: [], calls: {}, errors: [] };

function transportFor(token) {
  const headers = token ? { Authorization: `Bearer ${token}` } : {};
  switch (kind) {
    case 'stdio':
      return new StdioClientTransport({ command: target, args: rest, env: process.env, stderr: 'inherit' });
    case 'sse':
      return new SSEClientTransport(new URL(target), {
        requestInit: { headers },
        eventSourceInit: { fetch: (url, init) => fetch(url, { ...init, headers: { ...(init?.headers || {}), ...headers } }) },
      });
    case 'http':
      return new StreamableHTTPClientTransport(new URL(target), { requestInit: { headers } });
  }
  throw new Error(`unknown transport ${kind}`);
}

async function call(client, name, args, opts = {}) {
  const progress = [];
  const started = Date.now();
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
      progressMessages: progress.map((p) => p.message || ''),
      ms: Date.now() - started,
    };
  } catch (e) {
    return { thrown: String(e && e.message ? e.message : e), progress: progress.length, ms: Date.now() - started };
  }
}

async function connect(token) {
  const client = new Client({ name: 'interop', version: '1.0.0' }, { capabilities: {} });
  // The SDK reports protocol trouble here, e.g. a response to a request it cancelled.
  client.onerror = (e) => out.errors.push(String(e && e.message ? e.message : e));
  await client.connect(transportFor(token));
  return client;
}

async function basic() {
  const token = kind === 'stdio' ? undefined : rest[0];
  if (token) {
    try {
      const anon = await connect(undefined);
      out.calls.anonymous = { connected: true, tools: (await anon.listTools()).tools.length };
      await anon.close();
    } catch (e) {
      out.calls.anonymous = { thrown: String(e && e.message ? e.message : e) };
    }
  }
  const client = await connect(token);
  out.tools = (await client.listTools()).tools.map((t) => t.name);
  out.calls.generate = await call(client, 'generate_image', { prompt: 'a lighthouse at dusk', aspect_ratio: '16:9', image_size: '1K' });
  out.calls.badRatio = await call(client, 'generate_image', { prompt: 'x', model: 'nano-banana-pro', aspect_ratio: '8:1' });
  out.calls.explain = await call(client, 'explain_error', {});
  out.calls.listModels = await call(client, 'list_models', {});
  await client.close();
}

// long: the server is started with a slow upstream and frequent progress. A call whose
// timeout is shorter than the generation survives only because progress resets it; the same
// call without resetTimeoutOnProgress times out; an aborted call stops at once.
async function long() {
  const token = kind === 'stdio' ? undefined : rest[0];
  const client = await connect(token);
  out.calls.withProgress = await call(client, 'generate_image', { prompt: 'slow one', output: 'path' }, { timeout: 2000 });
  out.calls.noReset = await call(client, 'generate_image', { prompt: 'slow two', output: 'path' }, { timeout: 2000, resetTimeoutOnProgress: false });
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 300);
  out.calls.aborted = await call(client, 'generate_image', { prompt: 'slow three', output: 'path' }, { signal: ac.signal });
  // Long enough for the server to stop the aborted call and, if it wrongly did, answer it.
  await new Promise((r) => setTimeout(r, 500));
  await client.close();
}

// modes: each output mode on a 4K Pro image; the URL is fetched, the resource read, and the
// size of every answer recorded (the stdio client drops messages over 10 MiB).
async function modes() {
  const token = kind === 'stdio' ? undefined : rest[0];
  const client = await connect(token);
  const list = kind === 'stdio' ? ['preview', 'resource', 'path', 'full'] : ['preview', 'resource', 'url', 'path', 'full'];
  for (const mode of list) {
    const started = Date.now();
    try {
      const res = await client.callTool({ name: 'generate_image', arguments: { prompt: `mode ${mode}`, model: 'nano-banana-pro', image_size: '4K', output: mode } });
      const entry = { isError: !!res.isError, types: res.content.map((c) => c.type), bytes: JSON.stringify(res).length,
        structured: res.structuredContent ?? null, ms: Date.now() - started };
      const link = res.content.find((c) => c.type === 'resource_link');
      if (link) {
        const rr = await client.readResource({ uri: link.uri });
        entry.resourceBytes = Buffer.from(rr.contents[0].blob, 'base64').length;
      }
      const url = res.structuredContent && res.structuredContent.url;
      if (url) {
        const r = await fetch(url);
        entry.urlStatus = r.status;
        entry.urlBytes = (await r.arrayBuffer()).byteLength;
        const forged = await fetch(url.replace('sig=', 'sig=0'));
        entry.forgedStatus = forged.status;
      }
      out.calls[mode] = entry;
    } catch (e) {
      out.calls[mode] = { thrown: String(e && e.message ? e.message : e) };
    }
  }
  await client.close();
}

({ long, modes, basic })[scenario]().then(
  () => { process.stdout.write(JSON.stringify(out) + '\n'); },
  (e) => { process.stdout.write(JSON.stringify({ fatal: String(e && e.stack ? e.stack : e), ...out }) + '\n'); process.exitCode = 1; },
);
