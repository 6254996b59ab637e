export {
  startCentagateEmulator,
  signInHmac,
  EmulatorSignInError,
  type CentagateEmulator,
  type CentagateEmulatorOptions,
  type EmulatorFault,
  type EmulatorSignIn,
} from './server.js';
export { DEMO_USERS, RETURN_CODES, type EmulatorUser } from './users.js';
