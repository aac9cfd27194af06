/**
 * Exit codes of the `cumulus` command (docs/cli.md lists them). The only place an error
 * code becomes a process exit code.
 */
import type { ErrorCode } from '../core/errors.ts';

export const EXIT = {
  ok: 0,
  error: 1,
  usage: 2,
  /** The command finished but not everything: unreadable files, files not restored. */
  partial: 3,
  notARepository: 10,
  wrongPassword: 12,
  keyDamaged: 13,
  interrupted: 130,
} as const;

const BY_CODE: Partial<Record<ErrorCode, number>> = {
  usage: EXIT.usage,
  invalid_input: EXIT.usage,
  partial: EXIT.partial,
  not_a_repository: EXIT.notARepository,
  wrong_password: EXIT.wrongPassword,
  key_damaged: EXIT.keyDamaged,
};

export function exitCodeFor(code: ErrorCode): number {
  return BY_CODE[code] ?? EXIT.error;
}
