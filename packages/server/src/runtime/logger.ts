import pino, { type Logger } from 'pino';
import type { Config } from '../config/config.ts';

/** Paths that could carry credentials are replaced before a line is written. */
export const redactedPaths = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  'headers.authorization',
  'headers["x-api-key"]',
  'body.value',
  'body.key',
  'apiKey',
  'key',
  'value',
  'secret',
  'password',
  'token',
];

export function createLogger(config: Pick<Config, 'logLevel'>, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level: config.logLevel,
      redact: { paths: redactedPaths, censor: '[redacted]' },
      base: { service: 'runyard', pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}
