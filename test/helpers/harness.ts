import express, { type ErrorRequestHandler, type Express, type Request } from 'express';
import { pino, type Logger } from 'pino';
import type { CentagateCredentials } from '../../src/cen-token.js';
import type { CentagateEmulator } from '../../src/emulator/index.js';
import type { CentagateSessionMiddleware } from '../../src/middleware.js';

/** The username a test request names: `?user=…` (a query string can carry any character). */
export function usernameFromQuery(req: Request): string | undefined {
  const user = req.query['user'];
  return typeof user === 'string' ? user : undefined;
}

/** Signs in the emulator's service account and returns its credentials. */
export async function serviceAccount(emulator: CentagateEmulator): Promise<CentagateCredentials> {
  const signIn = await emulator.signIn('centagate-admin', 'admin-demo-password');
  return { adminUsername: signIn.username, authToken: signIn.authToken, secretCode: signIn.secretCode };
}

/** An error handler that shows what reached `next(err)` as JSON. */
export const errorAsJson: ErrorRequestHandler = (err: Error & { status?: number }, _req, res, _next) => {
  res.status(err.status ?? 500).json({ name: err.name, message: err.message });
};

/** An Express 5 app with `GET /protected` behind the middleware, answering the session it saw. */
export function protectedApp(middleware: CentagateSessionMiddleware, options: { errorHandler?: boolean } = {}): Express {
  const app = express();
  app.get('/protected', middleware, (req, res) => {
    res.json({ session: req.centagateSession ?? null });
  });
  if (options.errorHandler !== false) app.use(errorAsJson);
  return app;
}

/** A pino logger at level trace that keeps every line as parsed JSON. */
export function capturedLogger(): { logger: Logger; lines: Record<string, unknown>[]; raw: string[] } {
  const raw: string[] = [];
  const lines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'trace' },
    {
      write(line: string) {
        raw.push(line);
        lines.push(JSON.parse(line) as Record<string, unknown>);
      },
    },
  );
  return { logger, lines, raw };
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Serves `app` on 127.0.0.1, any free port, until `close()`. */
export async function listen(app: Express): Promise<{ origin: string; close: () => Promise<void> }> {
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const { port } = server.address() as import('node:net').AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => { resolve(); });
      }),
  };
}

/** Fetches every URL, `concurrency` at a time, and returns the statuses in order. */
export async function fetchAll(urls: readonly string[], concurrency: number): Promise<number[]> {
  const statuses = new Array<number>(urls.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < urls.length) {
      const index = next;
      next += 1;
      const res = await fetch(urls[index]!);
      await res.arrayBuffer();
      statuses[index] = res.status;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return statuses;
}
