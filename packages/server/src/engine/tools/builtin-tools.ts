import { memoryTool } from './memory-tool.ts';
import type { Tool } from './tool.ts';
import { httpFetchTool } from './http-fetch-tool.ts';

const echo: Tool = {
  name: 'echo',
  description: 'Returns the given text unchanged.',
  inputSchema: {
    type: 'object',
    properties: { text: { type: 'string', description: 'The text to return.' } },
    required: ['text'],
    additionalProperties: false,
  },
  execute: (input) => Promise.resolve((input as { text: string }).text),
};

const currentTime: Tool = {
  name: 'current_time',
  description: 'The current date and time, in ISO 8601 (UTC) and in the given IANA time zone.',
  inputSchema: {
    type: 'object',
    properties: { timeZone: { type: 'string', description: 'An IANA time zone, e.g. Europe/Paris.' } },
    additionalProperties: false,
  },
  execute: (input) => {
    const now = new Date();
    const { timeZone } = input as { timeZone?: string };
    if (timeZone === undefined) return Promise.resolve({ iso: now.toISOString(), timeZone: 'UTC' });
    try {
      const local = new Intl.DateTimeFormat('en-CA', {
        timeZone,
        dateStyle: 'short',
        timeStyle: 'medium',
        hourCycle: 'h23',
      }).format(now);
      return Promise.resolve({ iso: now.toISOString(), timeZone, local });
    } catch {
      throw new Error(`unknown time zone '${timeZone}'`);
    }
  },
};

/** Tools every workspace has, by name. */
export const builtinTools: ReadonlyMap<string, Tool> = new Map(
  [echo, currentTime, memoryTool, httpFetchTool].map((tool) => [tool.name, tool]),
);
