/**
 * Jest runs the TypeScript tests as native ES modules: ts-jest's ESM preset
 * compiles them, and `npm run jest` starts Node with --experimental-vm-modules.
 * @type {import('jest').Config}
 */
export default {
  preset: 'ts-jest/presets/default-esm',
  testEnvironment: 'node',
  roots: ['<rootDir>/test', '<rootDir>/example-app/test'],
  testMatch: ['**/*.test.ts'],
  moduleNameMapper: {
    // The example app imports the package by name, as a user would; tests run it on the sources.
    '^express-centagate-session$': '<rootDir>/src/index.ts',
    '^express-centagate-session/emulator$': '<rootDir>/src/emulator/index.ts',
    '^express-centagate-session/redis$': '<rootDir>/src/redis/index.ts',
    // Sources import siblings as './x.js' (NodeNext); map them back to the .ts files.
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  transform: {
    '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.json', diagnostics: false }],
  },
  testTimeout: 20000,
  // Two cores: two workers keep the suite fast without starving the servers under test.
  maxWorkers: 2,
};
