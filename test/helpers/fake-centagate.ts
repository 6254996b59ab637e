import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** A hand-written stand-in for CENTAGATE, for faults the emulator does not make. */
export interface FakeCentagate {
  /** The web-resources root to point a client at. */
  baseUrl: string;
  /** Every request as `METHOD raw-target`, in order. */
  requests: string[];
  /** Connections open right now (keep-alive sockets included). */
  openSockets(): number;
  /** Replaces how requests are answered. */
  answer(handler: FakeHandler): void;
  close(): Promise<void>;
}

export type FakeHandler = (req: IncomingMessage, res: ServerResponse, attempt: number) => void;

export const BASE_PATH = '/CentagateWS/webresources';

/** Answers every request with the CENTAGATE envelope `{ code, message, object }`. */
export function replyWith(code: unknown, object: unknown = null, message = 'Success'): FakeHandler {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ code, message, object }));
  };
}

/** Starts a local HTTP server on 127.0.0.1, any free port, answering with `handler`. */
export async function startFakeCentagate(handler: FakeHandler = replyWith(0)): Promise<FakeCentagate> {
  let current = handler;
  const requests: string[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((req, res) => {
    requests.push(`${req.method ?? ''} ${req.url ?? ''}`);
    current(req, res, requests.length);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}${BASE_PATH}`,
    requests,
    openSockets: () => sockets.size,
    answer(next) {
      current = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => { resolve(); });
      }),
  };
}

/**
 * A base URL on which nothing listens: port 1 on the loopback (tcpmux, never served here).
 * A port freed a moment ago is not safe: parallel test workers may take it again.
 */
export function refusedBaseUrl(): Promise<string> {
  return Promise.resolve(`http://127.0.0.1:1${BASE_PATH}`);
}
