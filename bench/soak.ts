/**
 * A bounded soak: many users, many requests, upstream latency jitter and a share of injected
 * faults, sessions signed out during the run. Every answer is checked against CENTAGATE's state.
 * `npm run soak` runs the full size; test/soak.test.ts runs a short one and asserts correctness.
 */
import type { AddressInfo } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import express from 'express';
import { requireCentagateSession } from 'express-centagate-session';
import { startCentagateEmulator } from 'express-centagate-session/emulator';

export interface SoakOptions {
  users: number;
  requests: number;
  /** Requests in flight at once. */
  concurrency: number;
  /** Share of users signed out during the run (half of them with invalidate()). */
  signOutShare: number;
  /** Share of upstream checks answered with an injected fault (HTTP 503). */
  faultShare: number;
  ttlMs: number;
}

export interface SoakReport {
  options: SoakOptions;
  durationMs: number;
  answers: { 200: number; 401: number; 503: number; other: number };
  upstreamChecks: number;
  hits: number;
  coalesced: number;
  signedOut: number;
  violations: string[];
  rssGrowthBytes: number;
  eventLoopDelayP99Ms: number;
}

interface SignOut {
  at: number;
  invalidated: boolean;
}

export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const emulator = await startCentagateEmulator();
  const admin = await emulator.signIn('centagate-admin', 'admin-demo-password');
  const usernames = Array.from({ length: options.users }, (_, i) => `soak-user-${i}`);
  for (const username of usernames) await emulator.signIn(username);
  const requireSession = requireCentagateSession((req) => req.get('x-user'), {
    baseUrl: emulator.baseUrl,
    adminUsername: admin.username,
    authToken: admin.authToken,
    secretCode: admin.secretCode,
    cache: { ttlMs: options.ttlMs },
    timeoutMs: 500,
    retries: 1,
  });
  const app = express();
  app.get('/protected', requireSession, (_req, res) => {
    res.end('ok');
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/protected`;

  emulator.setFault({ latencyMs: 1, jitterMs: 9, httpStatus: 503, probability: options.faultShare });
  const signedOut = new Map<string, SignOut>();
  const toSignOut = usernames.slice(0, Math.floor(options.users * options.signOutShare));
  const violations: string[] = [];
  const answers = { 200: 0, 401: 0, 503: 0, other: 0 };
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const rssBefore = process.memoryUsage().rss;
  const started = performance.now();
  let sent = 0;

  const worker = async (): Promise<void> => {
    while (sent < options.requests) {
      const index = sent;
      sent += 1;
      // Sign users out at evenly spread points of the run.
      const signOutIndex = Math.floor((index / options.requests) * toSignOut.length * 2);
      const leaving = toSignOut[signOutIndex];
      if (leaving !== undefined && !signedOut.has(leaving) && index % 2 === 0) {
        const invalidated = signedOut.size % 2 === 0;
        await emulator.signOut(leaving);
        if (invalidated) requireSession.invalidate(leaving);
        signedOut.set(leaving, { at: performance.now(), invalidated });
      }
      const username = usernames[Math.floor(Math.random() * usernames.length)] ?? 'soak-user-0';
      const sentAt = performance.now();
      const res = await fetch(url, { headers: { 'x-user': username } });
      await res.arrayBuffer();
      const status = res.status;
      if (status === 200 || status === 401 || status === 503) answers[status] += 1;
      else answers.other += 1;
      const left = signedOut.get(username);
      if (status === 200 && left !== undefined) {
        // Allowed after sign-out only for a request sent before the sign-out plus ttlMs
        // (or, with invalidate(), only for one sent before the sign-out).
        const limit = left.at + (left.invalidated ? 0 : options.ttlMs);
        if (sentAt > limit) violations.push(`${username} allowed ${Math.round(sentAt - left.at)} ms after sign-out (invalidated: ${left.invalidated})`);
      }
      if (status === 401 && left === undefined) {
        violations.push(`${username} denied while signed in`);
      }
      if (status !== 200 && status !== 401 && status !== 503) violations.push(`unexpected status ${status}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const durationMs = performance.now() - started;
  delay.disable();
  const stats = requireSession.stats();
  const report: SoakReport = {
    options,
    durationMs,
    answers,
    upstreamChecks: emulator.stats().checks,
    hits: stats.hits,
    coalesced: stats.coalesced,
    signedOut: signedOut.size,
    violations,
    rssGrowthBytes: process.memoryUsage().rss - rssBefore,
    eventLoopDelayP99Ms: delay.percentile(99) / 1e6,
  };
  requireSession.close();
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  await emulator.close();
  return report;
}

/** The report as a markdown table. */
export function formatSoakReport(report: SoakReport): string {
  const rows: [string, string][] = [
    ['users / requests / concurrency', `${report.options.users} / ${report.options.requests} / ${report.options.concurrency}`],
    ['duration', `${(report.durationMs / 1000).toFixed(1)} s (${Math.round((report.options.requests / report.durationMs) * 1000)} req/s)`],
    ['answers 200 / 401 / 503 / other', `${report.answers[200]} / ${report.answers[401]} / ${report.answers[503]} / ${report.answers.other}`],
    ['upstream checks (emulator)', String(report.upstreamChecks)],
    ['cache hits / coalesced', `${report.hits} / ${report.coalesced}`],
    ['users signed out during the run', String(report.signedOut)],
    ['injected fault share', String(report.options.faultShare)],
    ['violations', String(report.violations.length)],
    ['RSS growth', `${(report.rssGrowthBytes / 1024 / 1024).toFixed(1)} MiB`],
    ['event-loop delay p99', `${report.eventLoopDelayP99Ms.toFixed(1)} ms`],
  ];
  return ['| measure | value |', '| --- | --- |', ...rows.map(([name, value]) => `| ${name} | ${value} |`)].join('\n');
}
