/**
 * `npm run bench`: side-by-side measurements in one run, printed as markdown.
 *
 * The app under test runs in its own process pinned to core 0 (taskset, where available);
 * this process — load generator (autocannon) and the CENTAGATE emulator — pins itself to core 1.
 * Variants alternate within each round; medians and spread (min–max) over the rounds are
 * reported. Server CPU time per request comes from process.cpuUsage() in the server. A round
 * in which other processes used more than 15 % of a core is flagged as disturbed.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { CentagateClient, computeCenToken } from 'express-centagate-session';
import { startCentagateEmulator, type CentagateEmulator } from 'express-centagate-session/emulator';

const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const CONNECTIONS = 32;
const SEQUENTIAL_REQUESTS = 1500;
const here = fileURLToPath(new URL('.', import.meta.url));

const haveTaskset = (() => {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const spread = (values: number[], digits = 0): string => `${Math.min(...values).toFixed(digits)}–${Math.max(...values).toFixed(digits)}`;

/** Busy CPU time of the whole machine so far, in µs (from /proc/stat), or undefined off Linux. */
function machineBusyMicros(): number | undefined {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const [user = 0, nice = 0, system = 0, , , irq = 0, softirq = 0, steal = 0] = fields;
    const ticksPerSecond = 100;
    return ((user + nice + system + irq + softirq + steal) / ticksPerSecond) * 1e6;
  } catch {
    return undefined;
  }
}

interface Server {
  origin: string;
  process: ChildProcess;
}

async function startServer(env: NodeJS.ProcessEnv): Promise<Server> {
  const script = `${here}app-server.js`;
  const child = haveTaskset
    ? spawn('taskset', ['-c', '0', process.execPath, script], { env, stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, [script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening (\d+)/.exec(out);
      if (match) resolve(Number(match[1]));
    });
    child.once('exit', (code) => { reject(new Error(`app server exited with ${code}`)); });
  });
  return { origin: `http://127.0.0.1:${port}`, process: child };
}

async function serverCpuMicros(server: Server): Promise<number> {
  const usage = (await (await fetch(`${server.origin}/cpu`)).json()) as { user: number; system: number };
  return usage.user + usage.system;
}

interface LoadResult {
  requestsPerSecond: number;
  p50: number;
  p99: number;
  cpuMicrosPerRequest: number;
  disturbed: boolean;
  non2xx: number;
}

async function load(server: Server, path: string, seconds = SECONDS): Promise<LoadResult> {
  const cpuBefore = await serverCpuMicros(server);
  const ownBefore = process.cpuUsage();
  const busyBefore = machineBusyMicros();
  const started = performance.now();
  const result = await autocannon({
    url: `${server.origin}${path}`,
    connections: CONNECTIONS,
    duration: seconds,
    headers: { 'x-user': 'bench-user-0' },
  });
  const wallMicros = (performance.now() - started) * 1000;
  const serverMicros = (await serverCpuMicros(server)) - cpuBefore;
  const own = process.cpuUsage(ownBefore);
  const busyAfter = machineBusyMicros();
  const others = busyBefore === undefined || busyAfter === undefined ? 0 : busyAfter - busyBefore - serverMicros - own.user - own.system;
  return {
    requestsPerSecond: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuMicrosPerRequest: serverMicros / result.requests.total,
    disturbed: others > 0.15 * wallMicros,
    non2xx: result.non2xx,
  };
}

/** Sequential requests, one at a time, timed each: precise per-request latency in ms. */
async function sequentialLatencies(run: () => Promise<void>, count = SEQUENTIAL_REQUESTS): Promise<number[]> {
  const latencies: number[] = [];
  for (let i = 0; i < count; i += 1) {
    const started = performance.now();
    await run();
    latencies.push(performance.now() - started);
  }
  return latencies;
}

async function main(): Promise<void> {
  if (haveTaskset) execFileSync('taskset', ['-cp', '1', String(process.pid)], { stdio: 'ignore' });
  const emulator: CentagateEmulator = await startCentagateEmulator();
  const admin = await emulator.signIn('centagate-admin', 'admin-demo-password');
  for (let i = 0; i < 10; i += 1) await emulator.signIn(`bench-user-${i}`);
  const server = await startServer({
    ...process.env,
    CENTAGATE_BASE_URL: emulator.baseUrl,
    CENTAGATE_ADMIN_USERNAME: admin.username,
    CENTAGATE_AUTH_TOKEN: admin.authToken,
    CENTAGATE_SECRET_CODE: admin.secretCode,
  });
  const lines: string[] = [];
  const say = (line = ''): void => {
    lines.push(line);
  };
  try {
    // Warm-up: JIT, sockets, the cache entry.
    await load(server, '/unprotected', 2);
    await load(server, '/protected', 2);
    await load(server, '/noop', 2);

    // 1. Cache hit: protected vs unprotected, alternating, ROUNDS rounds.
    const hit: LoadResult[] = [];
    const open: LoadResult[] = [];
    const noop: LoadResult[] = [];
    const variants: [string, LoadResult[]][] = [['/unprotected', open], ['/protected', hit], ['/noop', noop]];
    for (let round = 0; round < ROUNDS; round += 1) {
      // Rotate the order each round so that no variant always runs first or last.
      for (let i = 0; i < variants.length; i += 1) {
        const [path, results] = variants[(i + round) % variants.length]!;
        results.push(await load(server, path));
      }
    }
    const ratios = hit.map((result, i) => result.requestsPerSecond / open[i]!.requestsPerSecond);
    const cpuRatios = hit.map((result, i) => result.cpuMicrosPerRequest / open[i]!.cpuMicrosPerRequest);
    const noopRatios = noop.map((result, i) => result.requestsPerSecond / open[i]!.requestsPerSecond);
    const disturbed = [...hit, ...open, ...noop].filter((result) => result.disturbed).length;
    say(`### Cache hit: protected vs unprotected route (${ROUNDS} rounds × ${SECONDS} s each, ${CONNECTIONS} connections, order rotated per round)`);
    say();
    say('| route | req/s median (spread) | p50 ms | p99 ms | server CPU µs/req median (spread) | non-2xx |');
    say('| --- | --- | --- | --- | --- | --- |');
    for (const [name, results] of [['unprotected', open], ['do-nothing middleware (floor)', noop], ['protected (cache hit)', hit]] as const) {
      say(
        `| ${name} | ${median(results.map((r) => r.requestsPerSecond)).toFixed(0)} (${spread(results.map((r) => r.requestsPerSecond))}) | ${median(results.map((r) => r.p50))} | ${median(results.map((r) => r.p99))} | ${median(results.map((r) => r.cpuMicrosPerRequest)).toFixed(1)} (${spread(results.map((r) => r.cpuMicrosPerRequest), 1)}) | ${results.reduce((sum, r) => sum + r.non2xx, 0)} |`,
      );
    }
    say();
    say(`Throughput ratio protected/unprotected: **${median(ratios).toFixed(3)}** (per round ${ratios.map((r) => r.toFixed(3)).join(', ')}); server CPU per request ratio: **${median(cpuRatios).toFixed(3)}**; a do-nothing middleware alone: ${median(noopRatios).toFixed(3)}. Rounds flagged as disturbed by other load: ${disturbed} of ${hit.length + open.length + noop.length}.`);
    say();

    // 2. Cold path: cache: false against the emulator vs a direct CentagateClient call.
    const client = new CentagateClient({ baseUrl: emulator.baseUrl });
    const cenToken = computeCenToken({ adminUsername: admin.username, authToken: admin.authToken, secretCode: admin.secretCode });
    const direct: number[] = [];
    const cold: number[] = [];
    const plain: number[] = [];
    const get = (path: string) => async (): Promise<void> => {
      const res = await fetch(`${server.origin}${path}`, { headers: { 'x-user': 'bench-user-1' } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
    };
    for (let round = 0; round < ROUNDS; round += 1) {
      direct.push(median(await sequentialLatencies(async () => {
        await client.checkSession({ username: 'bench-user-1', cenToken });
      })));
      cold.push(median(await sequentialLatencies(get('/cold'))));
      plain.push(median(await sequentialLatencies(get('/unprotected'))));
    }
    client.close();
    const added = cold.map((c, i) => c - plain[i]! - direct[i]!);
    say(`### Cold path: \`cache: false\` against the emulator (${ROUNDS} rounds × ${SEQUENTIAL_REQUESTS} sequential requests, medians)`);
    say();
    say('| measure | ms median (spread over rounds) |');
    say('| --- | --- |');
    say(`| direct \`CentagateClient.checkSession\` (upstream's own time) | ${median(direct).toFixed(3)} (${spread(direct, 3)}) |`);
    say(`| unprotected route | ${median(plain).toFixed(3)} (${spread(plain, 3)}) |`);
    say(`| protected route, \`cache: false\` | ${median(cold).toFixed(3)} (${spread(cold, 3)}) |`);
    say(`| **added by the middleware** (cold − unprotected − direct) | **${median(added).toFixed(3)}** (${spread(added, 3)}) |`);
    say();

    // 3. Coalescing: 1000 concurrent cold requests for one user.
    await emulator.signIn('bench-cold-user');
    const statsOf = async (): Promise<{ protected: { upstreamRequests: number } }> =>
      (await (await fetch(`${server.origin}/stats`)).json()) as { protected: { upstreamRequests: number } };
    const before = (await statsOf()).protected.upstreamRequests;
    const checksBefore = emulator.stats().checks;
    emulator.setFault({ latencyMs: 50 });
    const statuses = await Promise.all(
      Array.from({ length: 1000 }, async () => {
        const res = await fetch(`${server.origin}/protected`, { headers: { 'x-user': 'bench-cold-user' } });
        await res.arrayBuffer();
        return res.status;
      }),
    );
    emulator.setFault();
    const upstream = (await statsOf()).protected.upstreamRequests - before;
    say('### Coalescing: 1 000 concurrent cold requests for one user');
    say();
    say(`Upstream requests: **${upstream}** (emulator saw ${emulator.stats().checks - checksBefore}); answers 200: ${statuses.filter((s) => s === 200).length} of 1000.`);
    say();

    // 4. Memory per cached session.
    say('### Memory per cached session (reply as small as the emulator\'s)');
    say();
    say('| cached sessions | heap B/entry | RSS B/entry | lru-cache alone, heap B/entry |');
    say('| --- | --- | --- | --- |');
    for (const count of [10_000, 100_000]) {
      const out = execFileSync(process.execPath, ['--expose-gc', `${here}memory.js`, String(count)], { encoding: 'utf8' });
      const memory = JSON.parse(out) as { heapBytesPerEntry: number; rssBytesPerEntry: number; lruAloneHeapBytesPerEntry: number };
      say(`| ${count.toLocaleString('en')} | ${memory.heapBytesPerEntry} | ${memory.rssBytesPerEntry} | ${memory.lruAloneHeapBytesPerEntry} |`);
    }
    say();
    say(`Machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} cores, ${Math.round(os.totalmem() / 2 ** 30)} GiB, Node ${process.version}; app pinned to core 0 and load + emulator to core 1: ${haveTaskset ? 'yes (taskset)' : 'no (taskset unavailable)'}.`);
  } finally {
    server.process.kill('SIGTERM');
    await emulator.close();
  }
  console.log(lines.join('\n'));
}

await main();
