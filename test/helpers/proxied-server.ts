import { afterAll, beforeAll } from 'vitest';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';

/**
 * For a test file or `describe` block: starts a server and a fault proxy in
 * front of it before the tests, and closes both afterwards (the server with
 * its `stop()`, when it has one).
 */
export function proxiedServer<S extends { port: number; stop?(): Promise<void> }>(start: () => Promise<S>): { readonly server: S; readonly proxy: FaultProxy } {
  const handles = {} as { server: S; proxy: FaultProxy };
  beforeAll(async () => {
    handles.server = await start();
    handles.proxy = await startFaultProxy({ host: '127.0.0.1', port: handles.server.port });
  }, 120_000);
  afterAll(async () => {
    await handles.proxy?.close();
    await handles.server?.stop?.();
  }, 60_000);
  return handles;
}
