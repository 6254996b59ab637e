import { execFileSync } from 'node:child_process';
import { describe, expect, it } from '@jest/globals';
import { computeCenToken, isCenToken } from '../src/cen-token.js';

/** An independent HMAC-SHA256: `printf %s MESSAGE | openssl dgst -sha256 -hmac KEY -r`. */
function opensslHmac(key: string, message: string): string {
  const out = execFileSync('openssl', ['dgst', '-sha256', '-hmac', key, '-r'], { input: Buffer.from(message, 'utf8') });
  return out.toString('utf8').split(' ')[0]!;
}

describe('computeCenToken', () => {
  const cases = [
    { adminUsername: 'centagate-admin', authToken: 'f8Yq1-token', secretCode: 'S3cr3t-code' },
    { adminUsername: 'ädmin', authToken: '🔑token', secretCode: 'sécret' },
    { adminUsername: '', authToken: 'token-only', secretCode: 'key' },
    { adminUsername: 'admin', authToken: '', secretCode: 'key' },
    { adminUsername: '', authToken: '', secretCode: 'key' },
    { adminUsername: 'admin', authToken: 'token', secretCode: '' },
  ];

  it.each(cases)('should match openssl for %j', (credentials) => {
    const expected = opensslHmac(credentials.secretCode, credentials.adminUsername + credentials.authToken);
    expect(computeCenToken(credentials)).toBe(expected);
  });

  it('should match a vector computed with openssl beforehand', () => {
    // printf 'ädmin🔑' | openssl dgst -sha256 -hmac 'sécret' -r
    expect(computeCenToken({ adminUsername: 'ädmin', authToken: '🔑', secretCode: 'sécret' })).toBe(
      '37c001d21b2f826056156999744ea68f15849587b5aea9b39e43d51f5314a0f9',
    );
  });

  it('should return 64 lower-case hex digits', () => {
    const cenToken = computeCenToken({ adminUsername: 'A', authToken: 'B', secretCode: 'C' });
    expect(cenToken).toMatch(/^[0-9a-f]{64}$/);
    expect(isCenToken(cenToken)).toBe(true);
    expect(isCenToken(cenToken.toUpperCase())).toBe(false);
  });

  it('should depend on which field holds which string', () => {
    const a = computeCenToken({ adminUsername: 'x', authToken: 'y', secretCode: 'z' });
    const b = computeCenToken({ adminUsername: 'x', authToken: 'z', secretCode: 'y' });
    expect(a).not.toBe(b);
  });

  it('should refuse a field that is not a string, naming it', () => {
    expect(() =>
      computeCenToken({ adminUsername: 'a', authToken: undefined as unknown as string, secretCode: 's' }),
    ).toThrow(/authToken must be a string/);
  });
});
