/**
 * docs/protocol.md carries generated blocks (examples, schemas, limits, error codes) between
 * `<!-- gen:NAME -->` and `<!-- /gen:NAME -->`. This test fails when any of them is stale or
 * missing, or when a message type or error code goes unmentioned.
 * Regenerate: UPDATE_DOCS=1 npx vitest run --project unit tests/protocol/docs.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ERRORS, type ErrorCode } from '../../src/errors.js';
import {
  CLIENT_MESSAGE_TYPES,
  clientMessageSchemas,
  DEFAULT_LIMITS,
  PROTOCOL_ERROR_CODES,
  SERVER_MESSAGE_TYPES,
  serverMessageSchemas,
  type ProtocolLimits,
} from '../../src/protocol/index.js';
import { CLIENT_EXAMPLES, SERVER_EXAMPLES } from './examples.js';

const DOC = join(import.meta.dirname, '../../docs/protocol.md');

const LIMIT_DOCS: Record<keyof ProtocolLimits, string> = {
  maxMessageBytes: 'largest JSON message, in UTF-8 bytes',
  maxFrameBytes: 'largest binary frame (header + image), in bytes',
  maxQueries: 'queries in one subscription',
  maxQueryLength: 'characters (code points) in one query, before and after normalisation',
  maxIdLength: 'characters in a subscription or ping id',
  maxStreamIdLength: 'characters in a stream id (at most 255)',
  maxRate: 'highest `maxRate` a client may ask for, per second',
  maxImageWidth: 'widest viewer image a client may ask for, in pixels',
};

const json = (v: unknown) => ['```json', JSON.stringify(v, null, 2), '```'].join('\n');

function messageBlock(example: unknown, schema: unknown): string {
  return ['Example:', '', json(example), '', '<details><summary>JSON Schema</summary>', '', json(schema), '', '</details>'].join('\n');
}

/** Every generated block, by name. */
function blocks(): Map<string, string> {
  const out = new Map<string, string>();
  const client = clientMessageSchemas();
  const server = serverMessageSchemas();
  for (const type of CLIENT_MESSAGE_TYPES) out.set(`client/${type}`, messageBlock(CLIENT_EXAMPLES[type], client[type]));
  for (const type of SERVER_MESSAGE_TYPES) {
    if (type === 'ping' || type === 'pong') continue; // the same as the client's (checked below)
    out.set(`server/${type}`, messageBlock(SERVER_EXAMPLES[type], server[type]));
  }
  out.set(
    'limits',
    ['| limit | default | what it bounds |', '| --- | --- | --- |', ...Object.entries(DEFAULT_LIMITS).map(([k, v]) => `| \`${k}\` | ${v} | ${LIMIT_DOCS[k as keyof ProtocolLimits]} |`)].join('\n'),
  );
  const codes = (Object.keys(ERRORS) as ErrorCode[]).filter((c) => c.startsWith('PROTOCOL_') || c.startsWith('CLIENT_'));
  out.set(
    'errors',
    ['| code | status | message template |', '| --- | --- | --- |', ...codes.map((c) => `| \`${c}\` | ${ERRORS[c].status} | ${ERRORS[c].message} |`)].join('\n'),
  );
  return out;
}

function render(doc: string, generated: Map<string, string>): string {
  return doc.replace(/<!-- gen:([\w/-]+) -->[\s\S]*?<!-- \/gen:\1 -->/g, (whole, name: string) =>
    generated.has(name) ? `<!-- gen:${name} -->\n${generated.get(name)}\n<!-- /gen:${name} -->` : whole,
  );
}

describe('docs/protocol.md', () => {
  const doc = readFileSync(DOC, 'utf8');
  const generated = blocks();

  it('has every generated block, up to date', () => {
    const fresh = render(doc, generated);
    for (const name of generated.keys()) expect(doc, `block ${name}`).toContain(`<!-- gen:${name} -->`);
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(DOC, fresh);
    else expect(fresh === doc, 'docs/protocol.md is stale: run with UPDATE_DOCS=1').toBe(true);
  });

  it('mentions every message type and every protocol error code', () => {
    for (const type of [...CLIENT_MESSAGE_TYPES, ...SERVER_MESSAGE_TYPES]) expect(doc).toContain(`\`${type}\``);
    for (const code of PROTOCOL_ERROR_CODES) expect(doc).toContain(code);
  });

  it('documents ping and pong once, since both directions share the schema', () => {
    expect(serverMessageSchemas().ping).toEqual(clientMessageSchemas().ping);
    expect(serverMessageSchemas().pong).toEqual(clientMessageSchemas().pong);
  });
});
