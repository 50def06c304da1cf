/**
 * Checks spot request parameters against Binance's published OpenAPI spec
 * (../shared/specs/binance-spot-openapi.yaml): which parameters each path + method accepts, which
 * are required, and their types and enums. Built once per process from the YAML.
 */
import { existsSync, readFileSync } from 'node:fs';
import { parse } from 'yaml';

export interface ParamSpec {
  readonly name: string;
  readonly required: boolean;
  readonly type: string;
  readonly enum?: readonly string[];
}

export interface SpecViolation {
  readonly method: string;
  readonly path: string;
  readonly param?: string;
  readonly problem: 'unknown-endpoint' | 'unknown-param' | 'malformed-param' | 'missing-param';
  readonly detail: string;
}

export interface SpecProblem {
  readonly violation: SpecViolation;
  readonly code: number;
  readonly msg: string;
}

export type SpotSpec = ReadonlyMap<string, ReadonlyMap<string, ParamSpec>>;

const cache = new Map<string, SpotSpec>();

type Node = Record<string, unknown>;
const isNode = (v: unknown): v is Node => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Loads the spec into `METHOD path → (param name → spec)`; null when the file is absent. */
export const loadSpotSpec = (file: string): SpotSpec | null => {
  const hit = cache.get(file);
  if (hit) return hit;
  if (!existsSync(file)) return null;
  const doc: unknown = parse(readFileSync(file, 'utf8'), { maxAliasCount: -1 });
  if (!isNode(doc) || !isNode(doc.paths)) throw new Error(`${file}: no paths`);
  const components = isNode(doc.components) && isNode(doc.components.parameters) ? doc.components.parameters : {};
  const resolve = (p: unknown): Node | null => {
    if (!isNode(p)) return null;
    const ref = p.$ref;
    if (typeof ref === 'string') {
      const name = ref.split('/').pop() ?? '';
      const target = components[name];
      return isNode(target) ? target : null;
    }
    return p;
  };
  const out = new Map<string, Map<string, ParamSpec>>();
  for (const [path, item] of Object.entries(doc.paths)) {
    if (!isNode(item)) continue;
    const shared = Array.isArray(item.parameters) ? item.parameters : [];
    for (const method of ['get', 'post', 'put', 'delete']) {
      const op = item[method];
      if (!isNode(op)) continue;
      const params = new Map<string, ParamSpec>();
      const list = [...shared, ...(Array.isArray(op.parameters) ? op.parameters : [])];
      for (const raw of list) {
        const p = resolve(raw);
        if (!p || typeof p.name !== 'string') continue;
        const schema = isNode(p.schema) ? p.schema : {};
        const en = Array.isArray(schema.enum) ? schema.enum.map(String) : undefined;
        params.set(p.name, {
          name: p.name,
          required: p.required === true,
          type: typeof schema.type === 'string' ? schema.type : 'string',
          ...(en ? { enum: en } : {}),
        });
      }
      out.set(`${method.toUpperCase()} ${path}`, params);
    }
  }
  cache.set(file, out);
  return out;
};

const NUMBER = /^-?(\d{1,20})(\.\d{1,20})?$/;
const INTEGER = /^-?\d{1,20}$/;

const enumError = (name: string): { code: number; msg: string } => {
  switch (name) {
    case 'side':
      return { code: -1117, msg: 'Invalid side.' };
    case 'type':
      return { code: -1116, msg: 'Invalid orderType.' };
    case 'timeInForce':
      return { code: -1115, msg: 'Invalid timeInForce.' };
    case 'newOrderRespType':
      return { code: -1177, msg: 'Invalid newOrderRespType.' };
    default:
      return { code: -1100, msg: `Illegal characters found in parameter '${name}'.` };
  }
};

/** Returns the first problem with the request's parameters, or null when they follow the spec. */
export const checkSpotParams = (spec: SpotSpec, method: string, path: string, params: Readonly<Record<string, string>>): SpecProblem | null => {
  const op = spec.get(`${method} ${path}`);
  if (!op) {
    return {
      violation: { method, path, problem: 'unknown-endpoint', detail: `${method} ${path} is not in the spot spec` },
      code: -1000,
      msg: 'An unknown error occured while processing the request.',
    };
  }
  const names = Object.keys(params);
  for (const name of names) {
    const p = op.get(name);
    if (!p) {
      return {
        violation: { method, path, param: name, problem: 'unknown-param', detail: `parameter '${name}' is not accepted by ${method} ${path}` },
        code: -1104,
        msg: `Not all sent parameters were read; read '${names.length - 1}' parameter(s) but was sent '${names.length}'.`,
      };
    }
    const value = params[name] ?? '';
    let ok = true;
    if (value === '') ok = false;
    else if (p.type === 'number') ok = NUMBER.test(value);
    else if (p.type === 'integer') ok = INTEGER.test(value);
    else if (p.type === 'boolean') ok = value === 'true' || value === 'false';
    if (ok && p.enum && !p.enum.includes(value)) {
      const e = enumError(name);
      return { violation: { method, path, param: name, problem: 'malformed-param', detail: `'${value}' is not one of ${p.enum.join(',')}` }, ...e };
    }
    if (!ok) {
      const legal = p.type === 'number' ? "legal range is '^([0-9]{1,20})(\\.[0-9]{1,20})?$'" : p.type === 'integer' ? "legal range is '^[0-9]{1,20}$'" : 'legal range is a non-empty value';
      return {
        violation: { method, path, param: name, problem: 'malformed-param', detail: `'${value}' is not a valid ${p.type}` },
        code: -1100,
        msg: `Illegal characters found in parameter '${name}'; ${legal}.`,
      };
    }
  }
  for (const p of op.values()) {
    if (p.required && !(p.name in params)) {
      return {
        violation: { method, path, param: p.name, problem: 'missing-param', detail: `required parameter '${p.name}' not sent` },
        code: -1102,
        msg: `Mandatory parameter '${p.name}' was not sent, was empty/null, or malformed.`,
      };
    }
  }
  return null;
};
