import { describe, expect, it } from '@jest/globals';
import request from 'supertest';
import { useEmulatorSuite } from './helpers/emulator-suite.js';
import { capturedLogger, protectedApp, sleep } from './helpers/harness.js';

describe('the circuit breaker', () => {
  const suite = useEmulatorSuite({ retries: 0 }, ['alice']);
  const { middleware, checks } = suite;

  it('should open after 5 consecutive 503 outcomes and answer 503 at once with the time left', async () => {
    const { logger, lines } = capturedLogger();
    const mw = middleware({ breaker: { cooldownMs: 3000 }, logger, cache: false });
    const app = protectedApp(mw);
    suite.emulator.setFault({ httpStatus: 502 });
    for (let i = 0; i < 5; i += 1) await request(app).get('/protected?user=alice').expect(503);
    expect(mw.stats()).toMatchObject({ breakerState: 'open', breakerOpened: 1 });
    const before = checks();
    const started = performance.now();
    const refused = await request(app).get('/protected?user=alice').expect(503);
    expect(performance.now() - started).toBeLessThan(100);
    expect(checks()).toBe(before);
    expect(refused.body).toEqual({ error: 'unavailable', reason: 'upstream_unavailable' });
    expect(refused.headers['retry-after']).toBe('3');
    expect(mw.stats().breakerRejected).toBe(1);
    const changes = lines.filter((line) => 'breaker' in line);
    expect(changes).toEqual([expect.objectContaining({ breaker: 'open', level: 50 })]);
  });

  it('should let one probe through after the cool-down and close when it succeeds', async () => {
    const { logger, lines } = capturedLogger();
    const mw = middleware({ breaker: { failures: 2, cooldownMs: 300 }, logger, cache: false });
    const app = protectedApp(mw);
    suite.emulator.setFault({ httpStatus: 500 });
    await request(app).get('/protected?user=alice').expect(503);
    await request(app).get('/protected?user=alice').expect(503);
    expect(mw.stats().breakerState).toBe('open');
    await sleep(350);
    suite.emulator.setFault({ latencyMs: 100 });
    const before = checks();
    // Ten requests arrive while the probe is out: only the probe reaches CENTAGATE.
    const answers = await Promise.all(Array.from({ length: 10 }, () => request(app).get('/protected?user=alice')));
    expect(checks() - before).toBe(1);
    expect(answers.filter((res) => res.status === 200)).toHaveLength(1);
    expect(answers.filter((res) => res.status === 503)).toHaveLength(9);
    expect(mw.stats().breakerState).toBe('closed');
    await request(app).get('/protected?user=alice').expect(200);
    expect(lines.filter((line) => 'breaker' in line).map((line) => line['breaker'])).toEqual(['open', 'half-open', 'closed']);
  });

  it('should open again for a new cool-down when the probe fails', async () => {
    const mw = middleware({ breaker: { failures: 1, cooldownMs: 200 }, cache: false });
    const app = protectedApp(mw);
    suite.emulator.setFault({ httpStatus: 503 });
    await request(app).get('/protected?user=alice').expect(503);
    await sleep(250);
    const before = checks();
    await request(app).get('/protected?user=alice').expect(503);
    expect(checks() - before).toBe(1);
    expect(mw.stats()).toMatchObject({ breakerState: 'open', breakerOpened: 2 });
    await request(app).get('/protected?user=alice').expect(503);
    expect(checks() - before).toBe(1);
  });

  it('should count only consecutive failures: an answer from CENTAGATE resets the count', async () => {
    const mw = middleware({ breaker: { failures: 3 }, cache: false });
    const app = protectedApp(mw);
    for (let round = 0; round < 3; round += 1) {
      suite.emulator.setFault({ httpStatus: 500, times: 2 });
      await request(app).get('/protected?user=alice').expect(503);
      await request(app).get('/protected?user=alice').expect(503);
      await request(app).get('/protected?user=nobody').expect(401);
    }
    expect(mw.stats()).toMatchObject({ breakerState: 'closed', breakerOpened: 0 });
  });

  it('should never open when breaker is false', async () => {
    const mw = middleware({ breaker: false, cache: false });
    const app = protectedApp(mw);
    suite.emulator.setFault({ returnCode: 10004 });
    const before = checks();
    for (let i = 0; i < 8; i += 1) await request(app).get('/protected?user=alice').expect(503);
    expect(checks() - before).toBe(8);
    expect(mw.stats().breakerState).toBe('off');
  });
});
