import { describe, expect, it } from '@jest/globals';
import { runSoak } from '../bench/soak.js';

describe('a short soak', () => {
  it('should answer every request consistently with CENTAGATE under jitter, faults and sign-outs', async () => {
    const report = await runSoak({ users: 300, requests: 3000, concurrency: 16, signOutShare: 0.2, faultShare: 0.02, ttlMs: 500 });
    expect(report.violations).toEqual([]);
    expect(report.answers.other).toBe(0);
    expect(report.answers[200] + report.answers[401] + report.answers[503]).toBe(3000);
    expect(report.signedOut).toBeGreaterThan(10);
    expect(report.answers[401]).toBeGreaterThan(0);
    // The cache did its job: far fewer upstream checks than requests.
    expect(report.upstreamChecks).toBeLessThan(3000);
  }, 60_000);
});
