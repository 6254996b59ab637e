/** `npm run soak`: the full-size soak; exits non-zero on any violation. */
import { formatSoakReport, runSoak } from './soak.js';

const report = await runSoak({ users: 2000, requests: 30_000, concurrency: 32, signOutShare: 0.1, faultShare: 0.02, ttlMs: 2000 });
console.log(formatSoakReport(report));
for (const violation of report.violations.slice(0, 20)) console.log(`violation: ${violation}`);
process.exitCode = report.violations.length === 0 ? 0 : 1;
