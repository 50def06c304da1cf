/** The slice of a pino logger the vault uses; pino's Logger satisfies it. */
export interface VaultLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}
