// Jest configuration for the vendored auth-js tests (README.md), after upstream's
// packages/core/auth-js/jest.config.cli.js. What differs: the tests' `../src` (upstream's
// source tree) is the src/ that the npm package @supabase/auth-js ships, the version this
// repository's package.json pins; no coverage; no prettier (no inline snapshots here).
const path = require('path')

const authJsSrc = path.resolve(__dirname, '../../../node_modules/@supabase/auth-js/src')

module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: path.join(__dirname, 'tsconfig.json') }],
  },
  // The client's TypeScript lives under node_modules: transform it too.
  transformIgnorePatterns: ['/node_modules/(?!@supabase/auth-js/src/)'],
  moduleNameMapper: {
    // '../src', '../src/lib/errors', '../../src/index', ... (from tests/ and tests/lib/)
    '^(?:\\.\\./)+src(/.*)?$': `${authJsSrc}$1`,
  },
  testMatch: ['<rootDir>/tests/**/*.test.ts'],
  cacheDirectory: path.join(require('os').tmpdir(), 'portcullis-authjs-jest'),
  silent: true,
  forceExit: true,
}
