export { Runyard } from './runyard.ts';
export { Transport, type ClientOptions, type CallOptions, type ApiResponse } from './client.ts';
export * from './errors.ts';
