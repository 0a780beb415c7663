import { describe, expect, it } from 'vitest';
import { encodeToolNames, toolNameCodec } from './tool-wire-names.ts';

const wirePattern = /^[a-zA-Z0-9_-]{1,64}$/;

describe('tool wire names', () => {
  it('sends valid names unchanged and rewrites the rest to what providers accept', () => {
    const codec = toolNameCodec(['echo', 'billing.createInvoice', 'x'.repeat(100)]);
    expect(codec.toWire('echo')).toBe('echo');
    expect(codec.toWire('billing.createInvoice')).toBe('billing_createInvoice');
    const long = codec.toWire('x'.repeat(100));
    expect(long).toMatch(wirePattern);
    expect(codec.fromWire(long)).toBe('x'.repeat(100));
    expect(codec.fromWire('billing_createInvoice')).toBe('billing.createInvoice');
  });

  it('keeps distinct names distinct when their rewrites would collide', () => {
    const names = ['billing_createInvoice', 'billing.createInvoice', 'billing-x.y', 'billing-x_y'];
    const codec = toolNameCodec(names);
    const wires = names.map((name) => codec.toWire(name));
    expect(new Set(wires).size).toBe(names.length);
    for (const [index, wire] of wires.entries()) {
      expect(wire).toMatch(wirePattern);
      expect(codec.fromWire(wire)).toBe(names[index]);
    }
  });

  it('leaves a name the model invented as it is, so the unknown-tool guard reports it', () => {
    expect(toolNameCodec(['echo']).fromWire('no.such.tool')).toBe('no.such.tool');
  });

  it('rewrites declared tools and past tool calls and results in the prompt', () => {
    const codec = toolNameCodec(['billing.createInvoice']);
    const encoded = encodeToolNames(
      {
        prompt: [
          {
            role: 'assistant',
            content: [{ type: 'tool-call', toolCallId: 'c1', toolName: 'billing.createInvoice', input: {} }],
          },
          {
            role: 'tool',
            content: [
              {
                type: 'tool-result',
                toolCallId: 'c1',
                toolName: 'billing.createInvoice',
                output: { type: 'text', value: 'ok' },
              },
            ],
          },
        ],
        tools: [{ type: 'function', name: 'billing.createInvoice', inputSchema: { type: 'object' } }],
      },
      codec,
    );
    expect(JSON.stringify(encoded)).not.toContain('billing.createInvoice');
    expect(encoded.tools?.[0]?.name).toBe('billing_createInvoice');
  });
});
