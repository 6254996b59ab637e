/**
 * The app under test for `npm run bench`, run in its own process (pinned to one core by
 * bench.ts). Credentials and baseUrl come from the CENTAGATE_* environment variables.
 * Routes: /unprotected, /noop (a do-nothing middleware), /protected (cached), /cold (cache: false), /stats, /cpu.
 */
import type { AddressInfo } from 'node:net';
import express from 'express';
import { requireCentagateSession } from 'express-centagate-session';

const getUsername = (req: express.Request): string | undefined => req.get('x-user');
const requireSession = requireCentagateSession(getUsername);
const requireSessionUncached = requireCentagateSession(getUsername, { cache: false, breaker: false });

const app = express();
app.disable('x-powered-by');
app.disable('etag');
const ok = (_req: express.Request, res: express.Response): void => {
  res.send('ok');
};
app.get('/unprotected', ok);
app.get('/protected', requireSession, ok);
// The floor: an extra middleware that only calls next(), reading the same header.
app.get('/noop', (req, _res, next) => {
  if (req.get('x-user') !== undefined) next();
}, ok);
app.get('/cold', requireSessionUncached, ok);
app.get('/stats', (_req, res) => {
  res.json({ protected: requireSession.stats(), cold: requireSessionUncached.stats() });
});
app.get('/cpu', (_req, res) => {
  res.json(process.cpuUsage());
});

const server = app.listen(0, '127.0.0.1', () => {
  process.stdout.write(`listening ${(server.address() as AddressInfo).port}\n`);
});
process.on('SIGTERM', () => {
  requireSession.close();
  requireSessionUncached.close();
  server.closeAllConnections();
  server.close();
});
