/**
 * Runs the example app. With CENTAGATE_BASE_URL unset it starts the package's CENTAGATE
 * emulator in-process; with it set it talks to that CENTAGATE, and then needs the sign-in
 * app's CENTAGATE_INTEGRATION_KEY and CENTAGATE_APP_SECRET_KEY.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createRedisStore, type RedisStore } from 'express-centagate-session/redis';
import { pino } from 'pino';
import { startCentagateEmulator, type CentagateEmulator } from 'express-centagate-session/emulator';
import { createExampleApp } from './app.js';

const logger = pino(
  {
    level: process.env['LOG_LEVEL'] ?? 'info',
    // pino-http logs request and response headers: keep the session cookie out of the logs.
    redact: ['req.headers.cookie', 'req.headers.authorization', 'res.headers["set-cookie"]'],
  },
  // Pretty in a terminal, JSON lines otherwise (for a log collector).
  process.stdout.isTTY ? pino.transport({ target: 'pino-pretty', options: { colorize: true } }) : undefined,
);

async function main(): Promise<void> {
  const port = Number(process.env['PORT'] ?? 3000);
  const host = process.env['HOST'] ?? '127.0.0.1';
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error('PORT must be a whole number from 0 to 65535.');

  let emulator: CentagateEmulator | undefined;
  let centagate: { baseUrl: string; integrationKey: string; secretKey: string };
  const baseUrl = process.env['CENTAGATE_BASE_URL'];
  if (baseUrl === undefined || baseUrl === '') {
    emulator = await startCentagateEmulator();
    centagate = { baseUrl: emulator.baseUrl, ...emulator.app };
    logger.info(
      { baseUrl: emulator.baseUrl, demoUsers: emulator.users.map((user) => `${user.username} / ${user.password}`) },
      'CENTAGATE_BASE_URL is not set: started the CENTAGATE emulator in-process (demo only)',
    );
  } else {
    const integrationKey = process.env['CENTAGATE_INTEGRATION_KEY'];
    const secretKey = process.env['CENTAGATE_APP_SECRET_KEY'];
    if (!integrationKey || !secretKey) {
      throw new Error('With CENTAGATE_BASE_URL set, also set CENTAGATE_INTEGRATION_KEY and CENTAGATE_APP_SECRET_KEY (from the sign-in app in CENTAGATE).');
    }
    centagate = { baseUrl, integrationKey, secretKey };
    logger.info({ baseUrl }, 'using CENTAGATE');
  }

  const sessionSecret = process.env['SESSION_SECRET'] || randomBytes(32).toString('hex');
  // REDIS_URL: share CENTAGATE's answers and sign-outs with every replica through Redis.
  let redis: { store: RedisStore; client: Redis } | undefined;
  const redisUrl = process.env['REDIS_URL'];
  if (redisUrl) {
    const client = new Redis(redisUrl, { maxRetriesPerRequest: 1 });
    // The store logs Redis going down and coming back; the client's own errors would only repeat that.
    client.on('error', () => undefined);
    const signingKey = process.env['CENTAGATE_STORE_KEY'];
    if (!signingKey) logger.warn('REDIS_URL is set without CENTAGATE_STORE_KEY: replicas will not trust each other\'s entries; set the same key on each');
    redis = { client, store: createRedisStore({ client, signingKey: signingKey || sessionSecret, logger }) };
    logger.info({ redis: redisUrl.replace(/\/\/[^@/]*@/, '//***@') }, 'sharing the session cache through Redis');
  }

  const example = createExampleApp({
    ...centagate,
    logger,
    sessionSecret,
    ...(emulator === undefined ? {} : { demoUsers: emulator.users, emulatorSignOut: true }),
    ...(redis === undefined ? {} : { sessionOptions: { store: redis.store } }),
  });
  const server = example.app.listen(port, host);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  const address = server.address() as AddressInfo;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  logger.info(`example app ready: open http://${shownHost}:${address.port}/`);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close(() => {
      example.close();
      const shared = redis;
      const closing = Promise.all([emulator?.close(), shared === undefined ? undefined : shared.store.close().then(() => shared.client.quit())]);
      void closing.then(() => {
        logger.flush();
        // Leave the event loop to empty by itself: nothing is left open.
        process.exitCode = 0;
      });
    });
    server.closeIdleConnections();
    // Requests still running get a moment to finish.
    setTimeout(() => { server.closeAllConnections(); }, 2000).unref();
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  logger.fatal({ err: error }, 'example app failed to start');
  logger.flush();
  process.exitCode = 1;
});
