#!/usr/bin/env node
// Consumer smoke test: packs the package and uses the tarball from fresh projects, as users would:
//   1. ESM JavaScript + Express 5, and TypeScript (tsc --noEmit) against the shipped types;
//   2. CommonJS require() + Express 4, and TypeScript against Express 4's types.
// Fails if the tarball lacks dist/ files, ships tests or sources, or the types do not resolve.
// Needs the npm registry (to install express, typescript and @types/express into the temp projects).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const work = mkdtempSync(join(tmpdir(), 'centagate-smoke-'));
const run = (command, args, cwd) => execFileSync(command, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });
const step = (text) => console.log(`smoke: ${text}`);
let failures = 0;
const check = (ok, text) => {
  console.log(`smoke: ${ok ? 'ok  ' : 'FAIL'} ${text}`);
  if (!ok) failures += 1;
};

try {
  step('npm pack');
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', work], root));
  const tarball = join(work, packed.filename);
  const files = packed.files.map((file) => file.path);
  for (const needed of ['dist/index.js', 'dist/index.d.ts', 'dist/emulator/index.js', 'dist/emulator/index.d.ts', 'dist/emulator/cli.js', 'dist/redis/index.js', 'dist/redis/index.d.ts', 'package.json', 'README.md']) {
    check(files.includes(needed), `tarball has ${needed}`);
  }
  check(!files.some((file) => /(^|\/)(test|src|example-app|scripts|bench)\//.test(file) || /\.test\./.test(file)), 'tarball ships no tests, sources or example');
  console.log(`smoke: tarball ${packed.filename}: ${files.length} files, ${packed.size} bytes`);

  // A program both projects run: emulator → app → allowed, denied, 401 for no user.
  const program = (importLines) => `${importLines}
const emulator = await startCentagateEmulator();
const admin = await emulator.signIn('centagate-admin', 'admin-demo-password');
await emulator.signIn('alice');
const requireSession = requireCentagateSession((req) => req.get('x-user'), {
  baseUrl: emulator.baseUrl, adminUsername: admin.username, authToken: admin.authToken, secretCode: admin.secretCode,
});
const app = express();
app.get('/me', requireSession, (req, res) => { res.json(req.centagateSession); });
const server = app.listen(0, '127.0.0.1');
await new Promise((resolve) => server.once('listening', resolve));
const url = 'http://127.0.0.1:' + server.address().port + '/me';
const allowed = await fetch(url, { headers: { 'x-user': 'alice' } });
const denied = await fetch(url, { headers: { 'x-user': 'bob' } });
const missing = await fetch(url);
const body = await allowed.json();
const token = computeCenToken({ adminUsername: 'a', authToken: 'b', secretCode: 'c' });
console.log(JSON.stringify({ allowed: allowed.status, username: body.username, denied: denied.status, missing: missing.status, token: /^[0-9a-f]{64}$/.test(token), errorClass: typeof CentagateUnauthorizedError }));
requireSession.close();
server.close();
await emulator.close();
`;
  const expected = JSON.stringify({ allowed: 200, username: 'alice', denied: 401, missing: 401, token: true, errorClass: 'function' });

  const typescriptSource = (expressImport) => `import express from '${expressImport}';
import { requireCentagateSession, computeCenToken, type CentagateSession, type CentagateSessionOptions, CentagateUnavailableError } from 'express-centagate-session';
import { startCentagateEmulator, type CentagateEmulator } from 'express-centagate-session/emulator';
import { createRedisStore, type RedisStoreOptions } from 'express-centagate-session/redis';

const options: CentagateSessionOptions = { baseUrl: 'http://127.0.0.1:1/x', cache: { ttlMs: 1000 }, onDenied: (denial, _req, res) => { res.status(denial.status).end(); } };
const requireSession = requireCentagateSession((req) => req.get('x-user'), options);
const app = express();
app.get('/me', requireSession, (req, res) => {
  const session: CentagateSession | undefined = req.centagateSession;
  res.json({ user: session?.username, cached: session?.cached });
});
requireSession.invalidate('alice');
const stats: number = requireSession.stats().upstreamRequests;
const token: string = computeCenToken({ adminUsername: 'a', authToken: 'b', secretCode: 'c' });
const started: Promise<CentagateEmulator> = startCentagateEmulator({ port: 0 });
const failure: string = new CentagateUnavailableError('timeout', 'x').failure;
const redisOptions: Partial<RedisStoreOptions> = { prefix: 'app:', timeoutMs: 50 };
void [stats, token, started, failure, redisOptions, createRedisStore];
`;
  const tsconfig = JSON.stringify({ compilerOptions: { module: 'nodenext', moduleResolution: 'nodenext', target: 'es2022', strict: true, noEmit: true, types: ['node'], skipLibCheck: false, esModuleInterop: true } });

  // 1. ESM + Express 5 + TypeScript
  const esm = join(work, 'esm-express5');
  run('mkdir', ['-p', esm]);
  writeFileSync(join(esm, 'package.json'), JSON.stringify({ name: 'esm-consumer', private: true, type: 'module' }));
  step('installing the tarball with express@5 into an ESM project');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'express@5', 'typescript@~6.0', '@types/express@5', '@types/node@20'], esm);
  writeFileSync(join(esm, 'main.mjs'), program(`import express from 'express';
import { requireCentagateSession, computeCenToken, CentagateUnauthorizedError } from 'express-centagate-session';
import { startCentagateEmulator } from 'express-centagate-session/emulator';`));
  check(run('node', ['main.mjs'], esm).trim() === expected, 'ESM import with Express 5 allows, denies and answers 401');
  writeFileSync(join(esm, 'main.ts'), typescriptSource('express'));
  writeFileSync(join(esm, 'tsconfig.json'), tsconfig);
  run('npx', ['tsc', '-p', '.'], esm);
  check(true, 'TypeScript (Express 5 types) type-checks against the shipped types, req.centagateSession included');
  check(run('npx', ['centagate-emulator', '--help'], esm).includes('Usage: centagate-emulator'), 'the centagate-emulator bin runs');

  // 2. CommonJS + Express 4 + TypeScript with Express 4 types
  const cjs = join(work, 'cjs-express4');
  run('mkdir', ['-p', cjs]);
  writeFileSync(join(cjs, 'package.json'), JSON.stringify({ name: 'cjs-consumer', private: true, type: 'commonjs' }));
  step('installing the tarball with express@4 into a CommonJS project');
  run('npm', ['install', '--no-audit', '--no-fund', '--loglevel=error', tarball, 'express@4', 'typescript@~6.0', '@types/express@4', '@types/node@20'], cjs);
  writeFileSync(join(cjs, 'main.cjs'), `(async () => {\n${program(`const express = require('express');
const { requireCentagateSession, computeCenToken, CentagateUnauthorizedError } = require('express-centagate-session');
const { startCentagateEmulator } = require('express-centagate-session/emulator');`)}\n})().catch((error) => { console.error(error); process.exit(1); });`);
  check(run('node', ['--no-warnings', 'main.cjs'], cjs).trim() === expected, 'CommonJS require() with Express 4 allows, denies and answers 401');
  writeFileSync(join(cjs, 'main.mts'), typescriptSource('express'));
  writeFileSync(join(cjs, 'tsconfig.json'), tsconfig);
  run('npx', ['tsc', '-p', '.'], cjs);
  check(true, 'TypeScript (Express 4 types) type-checks against the shipped types');
} catch (error) {
  failures += 1;
  console.error(`smoke: FAIL ${error instanceof Error ? error.message : String(error)}`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(failures === 0 ? 'smoke: all consumer set-ups passed' : `smoke: ${failures} failure(s)`);
process.exitCode = failures === 0 ? 0 : 1;
