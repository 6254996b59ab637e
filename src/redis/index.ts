/**
 * `express-centagate-session/redis`: a shared cache tier on Redis, for several replicas.
 *
 * @example
 * import Redis from 'ioredis';
 * import { createRedisStore } from 'express-centagate-session/redis';
 * const store = createRedisStore({ client: new Redis(process.env.REDIS_URL) });
 * app.use(requireCentagateSession(getUsername, { store }));
 */
export { createRedisStore, type RedisStore, type RedisStoreOptions, type RedisClientLike } from './store.js';
