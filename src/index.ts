export { computeCenToken, type CentagateCredentials } from './cen-token.js';
export {
  CentagateClient,
  type CentagateClientOptions,
  type CentagateClientStats,
  type CentagateReply,
  type SessionCheck,
} from './client.js';
export {
  CentagateSessionError,
  CentagateUnauthorizedError,
  CentagateUnavailableError,
  type DenialReason,
  type UnauthorizedReason,
  type UnavailableReason,
  type UpstreamFailure,
} from './errors.js';
export { requireCentagateSession, type CentagateSessionMiddleware } from './middleware.js';
export { ENVIRONMENT_VARIABLES } from './options.js';
export type {
  CentagateCacheOptions,
  CentagateDenial,
  CentagateSession,
  CentagateSessionOptions,
  CentagateSessionStats,
  CredentialsResolver,
  GetUsername,
  OnDenied,
} from './types.js';
export type { CentagateSessionStore, SharedVerdict, StoreInit } from './store.js';
