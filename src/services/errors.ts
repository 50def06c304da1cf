/**
 * Errors a member caused or can act on, with a message written for them. The Discord layer shows
 * `message` as is (ephemeral); any other error becomes a generic answer, since its text may carry
 * details nobody should see.
 */
export type UserErrorCode = 'not-found' | 'invalid-input' | 'forbidden' | 'conflict' | 'unavailable' | 'too-many';

export class UserError extends Error {
  override readonly name: string;
  constructor(
    readonly code: UserErrorCode,
    message: string,
  ) {
    super(message);
    this.name = `UserError[${code}]`;
  }
}

export const isUserError = (error: unknown): error is UserError => error instanceof UserError;

export const notFound = (what = 'Account'): UserError =>
  new UserError('not-found', `${what} not found. Pick one from the list (only your own are shown).`);

export const invalid = (message: string): UserError => new UserError('invalid-input', message);

export const forbidden = (message: string): UserError => new UserError('forbidden', message);
