/**
 * `npm run replicas`: upstream requests for N replicas with and without the shared Redis tier.
 * Each "replica" is a middleware with its own in-process cache (and its own Redis client);
 * every user is requested once per replica, in turns, within one TTL. Starts its own redis-server.
 */
import { Redis } from 'ioredis';
import express from 'express';
import type { AddressInfo } from 'node:net';
import { requireCentagateSession, type CentagateSessionMiddleware } from 'express-centagate-session';
import { startCentagateEmulator } from 'express-centagate-session/emulator';
import { createRedisStore, type RedisStore } from 'express-centagate-session/redis';
import { findRedisServer, TestRedisServer } from '../test/helpers/redis-server.js';

const USERS = 200;
const binary = findRedisServer();
if (binary === undefined) throw new Error('npm run replicas needs redis-server (apt-get install redis-server).');
const redisServer = await TestRedisServer.start(binary);
const emulator = await startCentagateEmulator();
const admin = await emulator.signIn('centagate-admin', 'admin-demo-password');
const usernames = Array.from({ length: USERS }, (_, i) => `replica-user-${i}`);
for (const username of usernames) await emulator.signIn(username);

async function run(replicaCount: number, shared: boolean): Promise<number> {
  const clients: Redis[] = [];
  const stores: RedisStore[] = [];
  const middlewares: CentagateSessionMiddleware[] = [];
  const servers: import('node:http').Server[] = [];
  const origins: string[] = [];
  if (shared) {
    const flusher = new Redis(redisServer.url);
    await flusher.flushall();
    flusher.disconnect();
  }
  for (let i = 0; i < replicaCount; i += 1) {
    let store: RedisStore | undefined;
    if (shared) {
      const client = new Redis(redisServer.url);
      clients.push(client);
      store = createRedisStore({ client });
      stores.push(store);
    }
    const mw = requireCentagateSession((req) => req.get('x-user'), {
      baseUrl: emulator.baseUrl,
      adminUsername: admin.username,
      authToken: admin.authToken,
      secretCode: admin.secretCode,
      ...(store === undefined ? {} : { store }),
    });
    middlewares.push(mw);
    const app = express();
    app.get('/', mw, (_req, res) => {
      res.end('ok');
    });
    const server = app.listen(0, '127.0.0.1');
    await new Promise<void>((resolve) => server.once('listening', resolve));
    servers.push(server);
    origins.push(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
  }
  const before = emulator.stats().checks;
  // Round-robin: each user visits every replica once, as a load balancer would spread its requests.
  for (const origin of origins) {
    await Promise.all(usernames.map(async (username) => {
      const res = await fetch(origin, { headers: { 'x-user': username } });
      await res.arrayBuffer();
    }));
    // Shared writes are not awaited by the request: let them land before the next replica reads.
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const upstream = emulator.stats().checks - before;
  for (const mw of middlewares) mw.close();
  for (const store of stores) await store.close();
  for (const client of clients) client.disconnect();
  for (const server of servers) server.close();
  return upstream;
}

console.log(`| replicas | upstream requests, local cache only | with the shared Redis tier | per user (local only → shared) |`);
console.log('| --- | --- | --- | --- |');
for (const replicas of [1, 2, 4, 8]) {
  const local = await run(replicas, false);
  const shared = await run(replicas, true);
  console.log(`| ${replicas} | ${local} | ${shared} | ${(local / USERS).toFixed(2)} → ${(shared / USERS).toFixed(2)} |`);
}
console.log(`\n${USERS} users, each requested once on every replica within one TTL.`);
await emulator.close();
await redisServer.kill();
