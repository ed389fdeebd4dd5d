/**
 * The one file that imports ajv: compiles the schemas once per set of limits. Kept apart so the
 * client SDK (which never validates with ajv) does not pull ajv or its `new Function` code into
 * browser bundles.
 */
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ClientMessageType, ServerMessageType } from './messages.js';
import { limitsKey, type ProtocolLimits } from './limits.js';
import { clientMessageSchemas, serverMessageSchemas, type JsonSchema } from './schemas.js';

export type Validators<T extends string> = ReadonlyMap<T, ValidateFunction>;

const clientCache = new Map<string, Validators<ClientMessageType>>();
const serverCache = new Map<string, Validators<ServerMessageType>>();

function compileAll<T extends string>(schemas: Record<T, JsonSchema>): Validators<T> {
  // allErrors off: stop at the first violation, so a hostile message costs little.
  const ajv = new Ajv({ allErrors: false, strict: true });
  const out = new Map<T, ValidateFunction>();
  for (const [type, schema] of Object.entries(schemas) as [T, JsonSchema][]) out.set(type, ajv.compile(schema));
  return out;
}

/** Validators for client → server messages, by type; compiled on first use, then cached. */
export function clientValidators(limits: ProtocolLimits): Validators<ClientMessageType> {
  const key = limitsKey(limits);
  let v = clientCache.get(key);
  if (!v) clientCache.set(key, (v = compileAll(clientMessageSchemas(limits))));
  return v;
}

/** Validators for server → client messages, by type (tests, strict clients). */
export function serverValidators(limits: ProtocolLimits): Validators<ServerMessageType> {
  const key = limitsKey(limits);
  let v = serverCache.get(key);
  if (!v) serverCache.set(key, (v = compileAll(serverMessageSchemas(limits))));
  return v;
}

/** One line for the first schema violation: `/queries/0 must NOT have more than 256 characters`. */
export function describeViolation(errors: ErrorObject[] | null | undefined): string {
  const e = errors?.[0];
  if (!e) return 'does not match the schema';
  const where = e.instancePath === '' ? 'message' : e.instancePath;
  if (e.keyword === 'additionalProperties') {
    return `${where} has unknown property ${JSON.stringify(String(e.params['additionalProperty']).slice(0, 64))}`;
  }
  if (e.keyword === 'minProperties' && e.instancePath === '') return 'message changes nothing';
  return `${where} ${e.message ?? 'is invalid'}`;
}
