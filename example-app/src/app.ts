import { randomBytes } from 'node:crypto';
import express, { type Express, type Request } from 'express';
import session from 'express-session';
import got from 'got';
import type { Logger } from 'pino';
import { pinoHttp } from 'pino-http';
import {
  computeCenToken,
  requireCentagateSession,
  type CentagateSession,
  type CentagateSessionMiddleware,
  type CentagateSessionOptions,
} from 'express-centagate-session';
import { signInWithPassword, type SignInApp, type SignedIn } from './centagate-sign-in.js';
import { dashboardPage, homePage, loginPage, unavailablePage } from './pages.js';

declare module 'express-session' {
  interface SessionData {
    /** What the session check needs, kept server-side: the cookie holds only the session id. */
    centagate?: SignedIn;
  }
}

export interface ExampleAppOptions extends SignInApp {
  /** Request and decision logs. */
  logger: Logger;
  /** Signs the session cookie. Default: random per start (sessions end with the process). */
  sessionSecret?: string;
  /** Demo users to list on the sign-in page (only with the emulator). */
  demoUsers?: readonly { username: string; password: string }[];
  /**
   * Whether `POST /logout` also ends the CENTAGATE session through the emulator's own
   * sign-out endpoint (an emulator extension: CENTAGATE documents no sign-out call).
   */
  emulatorSignOut?: boolean;
  /** Passed to both middlewares, e.g. a short cache TTL in tests, or the shared `store`. */
  sessionOptions?: Pick<CentagateSessionOptions, 'cache' | 'timeoutMs' | 'retries' | 'store'>;
}

export interface ExampleApp {
  app: Express;
  /** Releases the middlewares' sockets to CENTAGATE. */
  close(): void;
}

const MAX_FIELD_LENGTH = 256;

/**
 * The session the middleware attached. It is always there behind requireCentagateSession;
 * the check turns a route wired without it into a 500 instead of a page for nobody.
 */
function confirmedSession(req: Request): CentagateSession {
  if (req.centagateSession === undefined) throw new Error('this route must come after requireCentagateSession');
  return req.centagateSession;
}

/** The username of the signed-in user, from the server-side session. */
const signedInUsername = (req: Request): string | undefined => req.session.centagate?.username;

export function createExampleApp(options: ExampleAppOptions): ExampleApp {
  const { logger } = options;
  const app = express();
  app.disable('x-powered-by');
  app.use(pinoHttp({ logger }));
  app.use(
    session({
      name: 'example.sid',
      secret: options.sessionSecret ?? randomBytes(32).toString('hex'),
      resave: false,
      saveUninitialized: false,
      // httpOnly: no script reads it; SameSite=Lax: no cross-site POST carries it; secure over https.
      cookie: { httpOnly: true, sameSite: 'lax', secure: 'auto' },
    }),
  );

  // Each user's own credentials from its sign-in check its own session (adminUsername = username).
  const shared: CentagateSessionOptions = {
    baseUrl: options.baseUrl,
    credentials: (req) => {
      const signedIn = req.session.centagate;
      if (signedIn === undefined) throw new Error('credentials asked for a request without a signed-in user');
      return { adminUsername: signedIn.username, authToken: signedIn.authToken, secretCode: signedIn.secretCode };
    },
    ...options.sessionOptions,
  };
  // Pages redirect to /login when the session is not valid; the API answers the default JSON.
  const requirePageSession: CentagateSessionMiddleware = requireCentagateSession(signedInUsername, {
    ...shared,
    onDenied: (denial, _req, res) => {
      if (denial.status === 401) {
        res.redirect(303, '/login');
        return;
      }
      res.status(503).set(denial.error.headers).type('html').send(unavailablePage());
    },
  });
  const requireApiSession: CentagateSessionMiddleware = requireCentagateSession(signedInUsername, shared);

  app.get('/', (req, res) => {
    res.type('html').send(homePage(signedInUsername(req)));
  });

  app.get('/login', (_req, res) => {
    res.type('html').send(loginPage({ demoUsers: options.demoUsers ?? [] }));
  });

  app.post('/login', express.urlencoded({ extended: false, limit: '4kb' }), async (req, res, next) => {
    const body = req.body as Record<string, unknown> | undefined;
    const username = typeof body?.['username'] === 'string' ? body['username'].trim() : '';
    const password = typeof body?.['password'] === 'string' ? body['password'] : '';
    const again = (status: number, error: string): void => {
      res.status(status).type('html').send(loginPage({ error, username: username.slice(0, MAX_FIELD_LENGTH), demoUsers: options.demoUsers ?? [] }));
    };
    if (username === '' || password === '' || username.length > MAX_FIELD_LENGTH || password.length > MAX_FIELD_LENGTH) {
      again(400, 'Enter a username and a password.');
      return;
    }
    const outcome = await signInWithPassword(options, username, password, {
      userAgent: req.get('user-agent') ?? '',
      ipAddress: req.ip ?? '',
    });
    if ('kind' in outcome) {
      req.log.info({ username, outcome: outcome.kind }, 'sign-in refused');
      if (outcome.kind === 'rejected') again(401, 'Wrong username or password.');
      else again(503, 'CENTAGATE is not reachable. Please try again in a moment.');
      return;
    }
    // A new session id at sign-in, so that an id planted before it is worth nothing.
    req.session.regenerate((error) => {
      if (error) {
        next(error);
        return;
      }
      req.session.centagate = outcome;
      // A fresh sign-in must pass at once, even if a denial for this user is still cached.
      requirePageSession.invalidate(outcome.username);
      requireApiSession.invalidate(outcome.username);
      req.session.save((saveError) => {
        if (saveError) next(saveError);
        else res.redirect(303, '/dashboard');
      });
    });
  });

  app.get('/dashboard', requirePageSession, (req, res) => {
    res.type('html').send(dashboardPage(confirmedSession(req)));
  });

  app.get('/api/me', requireApiSession, (req, res) => {
    const { username, checkedAt, cached } = confirmedSession(req);
    res.set('cache-control', 'no-store').json({ username, checkedAt, cached });
  });

  app.post('/logout', async (req, res, next) => {
    const signedIn = req.session.centagate;
    if (signedIn !== undefined) {
      if (options.emulatorSignOut === true) {
        const cenToken = computeCenToken({ adminUsername: signedIn.username, authToken: signedIn.authToken, secretCode: signedIn.secretCode });
        try {
          await got.post(`${options.baseUrl}/emulator/signOut/${encodeURIComponent(signedIn.username)}/${cenToken}`, {
            timeout: { request: 2000 },
            retry: { limit: 0 },
          });
        } catch {
          req.log.warn({ username: signedIn.username }, 'could not end the CENTAGATE session; ending the local one');
        }
      }
      // Deny at once, whatever the cache held.
      requirePageSession.invalidate(signedIn.username);
      requireApiSession.invalidate(signedIn.username);
    }
    req.session.destroy((error) => {
      if (error) {
        next(error);
        return;
      }
      res.clearCookie('example.sid', { httpOnly: true, sameSite: 'lax' });
      res.redirect(303, '/login');
    });
  });

  return {
    app,
    close() {
      requirePageSession.close();
      requireApiSession.close();
    },
  };
}
