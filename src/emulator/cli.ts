#!/usr/bin/env node
/**
 * `centagate-emulator [--port N] [--host ADDR]`: runs the CENTAGATE emulator
 * until Ctrl-C and prints its base URL, demo users and sign-in app keys.
 */
import { parseArgs } from 'node:util';
import { startCentagateEmulator } from './server.js';

const usage = 'Usage: centagate-emulator [--port N] [--host ADDRESS]   (defaults: any free port, 127.0.0.1)';

async function main(): Promise<void> {
  let values: { port?: string; host?: string; help?: boolean };
  try {
    ({ values } = parseArgs({
      options: { port: { type: 'string' }, host: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (error) {
    console.error(`${(error as Error).message}\n${usage}`);
    process.exitCode = 2;
    return;
  }
  if (values.help) {
    console.log(usage);
    return;
  }
  const port = values.port === undefined ? 0 : Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`--port must be a whole number from 0 to 65535.\n${usage}`);
    process.exitCode = 2;
    return;
  }
  const emulator = await startCentagateEmulator({ port, ...(values.host === undefined ? {} : { host: values.host }) });
  const lines = [
    'CENTAGATE emulator (for development and tests only; not CENTAGATE)',
    `  baseUrl:         ${emulator.baseUrl}`,
    `  session check:   PUT|GET ${emulator.baseUrl}/session/check/{username}/{cenToken}`,
    `  sign-in:         POST ${emulator.baseUrl}/auth/authBasic`,
    `  sign-out (ext.): POST ${emulator.baseUrl}/emulator/signOut/{username}/{cenToken}`,
    `  integrationKey:  ${emulator.app.integrationKey}`,
    `  secretKey:       ${emulator.app.secretKey}`,
    '  demo users (username / password / role):',
    ...emulator.users.map((user) => `    ${user.username} / ${user.password} / ${user.role}`),
    'Press Ctrl-C to stop.',
  ];
  console.log(lines.join('\n'));
  const stop = (): void => {
    void emulator.close().then(() => process.exit(0));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

await main();
