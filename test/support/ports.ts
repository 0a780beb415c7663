import net from 'node:net';

/**
 * A loopback port that nothing listens on right now: free to start a server on, or, left alone, a
 * port whose connections are refused at once.
 */
export async function unusedPort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}
