/** checked validates a value against an API schema outside HTTP (the admin CLI), with the server's rules. */
import type { Static, TSchema } from 'typebox';
import { Value } from 'typebox/value';
import { CumulusError } from '../core/errors.ts';

export function checked<S extends TSchema>(schema: S, value: unknown, what: string): Static<S> {
  const first = Value.Errors(schema, value)[0];
  if (first === undefined) return value as Static<S>;
  const where = first.instancePath ? ` (${first.instancePath.slice(1)})` : '';
  throw new CumulusError('usage', `invalid ${what}${where}: ${first.message}`, {
    hint: 'see --help for the expected format',
  });
}
