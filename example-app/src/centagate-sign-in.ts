import { createHmac } from 'node:crypto';
import got from 'got';

/** What the session check needs from a CENTAGATE sign-in. */
export interface SignedIn {
  username: string;
  authToken: string;
  secretCode: string;
}

/** The sign-in app's keys, from its page in CENTAGATE (or the emulator). */
export interface SignInApp {
  baseUrl: string;
  integrationKey: string;
  secretKey: string;
}

/** Why a sign-in did not succeed. */
export type SignInFailure = { kind: 'rejected'; returnCode: number } | { kind: 'unavailable' };

/**
 * Signs in with CENTAGATE's `POST {baseUrl}/auth/authBasic` (username and password),
 * resolving to what the session check needs, or to why it failed. Never throws for
 * an upstream problem, and never puts the password or tokens in what it returns on failure.
 */
export async function signInWithPassword(
  app: SignInApp,
  username: string,
  password: string,
  client: { userAgent: string; ipAddress: string },
): Promise<SignedIn | SignInFailure> {
  const fields = {
    username,
    password,
    integrationKey: app.integrationKey,
    unixTimestamp: String(Math.floor(Date.now() / 1000)),
    supportFido: '',
    ipAddress: client.ipAddress,
    userAgent: client.userAgent,
    browserFp: '',
  };
  const hmac = createHmac('sha256', app.secretKey)
    .update(
      fields.username + fields.password + fields.userAgent + fields.integrationKey + fields.supportFido + fields.browserFp + fields.unixTimestamp + fields.ipAddress,
      'utf8',
    )
    .digest('hex');
  let reply: { code?: unknown; object?: unknown };
  try {
    reply = await got
      .post(`${app.baseUrl.replace(/\/+$/, '')}/auth/authBasic`, {
        json: { ...fields, hmac },
        timeout: { request: 5000 },
        retry: { limit: 0 },
        followRedirect: false,
      })
      .json();
  } catch {
    return { kind: 'unavailable' };
  }
  const returnCode = Number(reply.code);
  if (returnCode !== 0) return Number.isFinite(returnCode) ? { kind: 'rejected', returnCode } : { kind: 'unavailable' };
  try {
    const object = (typeof reply.object === 'string' ? JSON.parse(reply.object) : reply.object) as Partial<SignedIn>;
    if (typeof object.username === 'string' && typeof object.authToken === 'string' && typeof object.secretCode === 'string') {
      return { username: object.username, authToken: object.authToken, secretCode: object.secretCode };
    }
  } catch {
    // fall through: an object we cannot read
  }
  return { kind: 'unavailable' };
}
