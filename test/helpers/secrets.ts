import { inspect } from 'node:util';

/** Every way an error can be shown: message, stack, JSON and util.inspect (with its cause). */
export function everyRendering(error: unknown): string {
  const asError = error as Error;
  return [
    asError.message,
    String(asError.stack),
    JSON.stringify(error),
    inspect(error, { depth: 10, showHidden: true }),
  ].join('\n');
}

/** The secrets that must never appear, paired with a label for the failure message. */
export function expectNoSecrets(text: string, secrets: Record<string, string>): void {
  for (const [name, value] of Object.entries(secrets)) {
    if (value.length > 0 && text.includes(value)) {
      throw new Error(`${name} leaked into: ${text.slice(0, 500)}`);
    }
  }
}
