import { readFileSync } from 'node:fs';
import Ajv2020 from 'ajv/dist/2020';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Json } from './model';

/** One reason a request body is refused, at a path inside the body. */
export interface Issue {
  path: (string | number)[];
  code: string;
  message: string;
}

type OpenApi = {
  paths: Record<string, Record<string, { requestBody?: { content?: Record<string, { schema?: unknown }> } }>>;
  components: Json;
};

const SAFE = Number.MAX_SAFE_INTEGER;

/**
 * Permission bitsets are integers wider than 2^53, so Discord and every client send them as decimal
 * strings ("32"); the spec types them as integer. Accept both where the range exceeds 2^53.
 */
function acceptBigIntStrings(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(acceptBigIntStrings);
  if (!node || typeof node !== 'object') return node;
  const out: Json = {};
  for (const [k, v] of Object.entries(node)) out[k] = acceptBigIntStrings(v);
  const type = out['type'];
  const isInteger = type === 'integer' || (Array.isArray(type) && type.includes('integer'));
  if (isInteger && typeof out['maximum'] === 'number' && out['maximum'] > SAFE && out['format'] === undefined) {
    const { type: _t, minimum: _min, maximum: _max, ...rest } = out;
    return { ...rest, anyOf: [{ type, minimum: out['minimum'], maximum: out['maximum'] }, { type: 'string', pattern: '^[0-9]{1,20}$' }] };
  }
  return out;
}

const cache = new Map<string, SpecValidator>();

/**
 * Validates request bodies against Discord's published OpenAPI document. Types, enums, required fields
 * and the spec's own lengths are checked; properties the spec does not declare are allowed (as Discord
 * ignores them). Each (route, method) is compiled once per process, on first use.
 */
export class SpecValidator {
  readonly #spec: OpenApi;
  readonly #ajv: Ajv2020;
  readonly #compiled = new Map<string, ((body: unknown) => Issue[]) | null>();

  private constructor(specPath: string) {
    this.#spec = JSON.parse(readFileSync(specPath, 'utf8')) as OpenApi;
    this.#ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: true });
    addFormats(this.#ajv);
    this.#ajv.addFormat('snowflake', /^(0|[1-9][0-9]*)$/);
    this.#ajv.addFormat('nonce', true);
    this.#ajv.addSchema({ $id: 'discord', components: acceptBigIntStrings(this.#spec.components) });
  }

  static load(specPath: string): SpecValidator {
    let validator = cache.get(specPath);
    if (!validator) {
      validator = new SpecValidator(specPath);
      cache.set(specPath, validator);
    }
    return validator;
  }

  /** Whether the spec declares this route (a template such as `/channels/{channel_id}/messages`). */
  hasRoute(route: string): boolean {
    return route in this.#spec.paths;
  }

  /** Issues for this body, or [] when it conforms (or the spec declares no JSON body for the route). */
  validate(route: string, method: string, body: unknown): Issue[] {
    const key = `${method.toLowerCase()} ${route}`;
    let check = this.#compiled.get(key);
    if (check === undefined) {
      check = this.#compile(route, method.toLowerCase());
      this.#compiled.set(key, check);
    }
    return check ? check(body) : [];
  }

  #compile(route: string, method: string): ((body: unknown) => Issue[]) | null {
    const schema = this.#spec.paths[route]?.[method]?.requestBody?.content?.['application/json']?.schema;
    if (!schema) return null;
    const branches = discriminatedBranches(schema, this.#spec.components);
    if (branches) {
      // A union keyed by `type` (interaction callbacks): validate against the branch the body names,
      // so errors speak about that branch rather than every alternative.
      const byType = new Map<unknown, ValidateFunction>();
      for (const [values, ref] of branches) {
        const fn = this.#ajv.compile(rebase({ $ref: ref }));
        for (const v of values) byType.set(v, fn);
      }
      const allowed = [...byType.keys()];
      return (body) => {
        const type = body && typeof body === 'object' ? (body as Json)['type'] : undefined;
        const fn = byType.get(type);
        if (!fn) return [{ path: ['type'], code: 'BASE_TYPE_CHOICES', message: `Value must be one of (${allowed.join(', ')}).` }];
        return fn(body) ? [] : toIssues(fn.errors ?? []);
      };
    }
    const fn = this.#ajv.compile(rebase(schema));
    return (body) => (fn(body) ? [] : toIssues(fn.errors ?? []));
  }
}

function rebase(schema: unknown): Json {
  return JSON.parse(JSON.stringify(schema).replaceAll('"#/components/', '"discord#/components/')) as Json;
}

/** For `anyOf: [$ref...]` whose members each pin `type` with an enum, the enum values of each member. */
function discriminatedBranches(schema: unknown, components: Json): [unknown[], string][] | null {
  const anyOf = (schema as { anyOf?: unknown } | null)?.anyOf;
  if (!Array.isArray(anyOf)) return null;
  const out: [unknown[], string][] = [];
  for (const member of anyOf) {
    const ref = (member as { $ref?: unknown }).$ref;
    if (typeof ref !== 'string' || !ref.startsWith('#/components/schemas/')) return null;
    const target = (components['schemas'] as Json | undefined)?.[ref.slice('#/components/schemas/'.length)] as
      | { properties?: { type?: { enum?: unknown[] } } }
      | undefined;
    const values = target?.properties?.type?.enum;
    if (!values) return null;
    out.push([values, ref]);
  }
  return out;
}

function pointer(path: string): (string | number)[] {
  if (!path) return [];
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function issueOf(error: ErrorObject): Issue {
  const path = pointer(error.instancePath);
  const p = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: [...path, String(p['missingProperty'])], code: 'BASE_TYPE_REQUIRED', message: 'This field is required' };
    case 'maxLength':
    case 'maxItems':
    case 'maxProperties':
      return { path, code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${String(p['limit'])} or fewer in length.` };
    case 'minLength':
    case 'minItems':
      return { path, code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${String(p['limit'])} or more in length.` };
    case 'enum':
    case 'const':
      return { path, code: 'BASE_TYPE_CHOICES', message: `Value must be one of ${JSON.stringify(p['allowedValues'] ?? p['allowedValue'])}.` };
    case 'type': {
      const t = String(p['type']);
      const code = t.startsWith('object') ? 'MODEL_TYPE_CONVERT' : t.startsWith('array') ? 'LIST_TYPE_CONVERT' : t.includes('integer') || t.includes('number') ? 'NUMBER_TYPE_COERCE' : 'BASE_TYPE_BAD_TYPE';
      return { path, code, message: `Must be ${t.replaceAll(',', ' or ')}.` };
    }
    case 'minimum':
    case 'exclusiveMinimum':
      return { path, code: 'NUMBER_TYPE_MIN', message: `int value should be greater than or equal to ${String(p['limit'])}.` };
    case 'maximum':
    case 'exclusiveMaximum':
      return { path, code: 'NUMBER_TYPE_MAX', message: `int value should be less than or equal to ${String(p['limit'])}.` };
    case 'pattern':
    case 'format':
      return { path, code: 'STRING_TYPE_REGEX', message: `String value did not match validation (${error.message ?? ''}).` };
    default:
      return { path, code: 'BASE_TYPE_INVALID', message: error.message ?? error.keyword };
  }
}

/**
 * Ajv reports every failed alternative of a union; keep what speaks about the alternative the body
 * meant: drop union summaries, "must be null" alternatives, and `type` discriminator mismatches where a
 * sibling alternative got further.
 */
function toIssues(errors: ErrorObject[]): Issue[] {
  const meaningful = errors.filter(
    (e) => e.keyword !== 'oneOf' && e.keyword !== 'anyOf' && !(e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null'),
  );
  const kept = meaningful.filter((e) => {
    if ((e.keyword !== 'enum' && e.keyword !== 'const') || !e.instancePath.endsWith('/type')) return true;
    const parent = e.instancePath.slice(0, -'/type'.length);
    return !meaningful.some((o) => o !== e && o.keyword !== 'enum' && o.keyword !== 'const' && o.instancePath.startsWith(`${parent}/`));
  });
  const chosen = kept.length > 0 ? kept : errors.slice(0, 1);
  const seen = new Set<string>();
  const out: Issue[] = [];
  for (const e of chosen) {
    const issue = issueOf(e);
    const key = `${issue.path.join('.')}|${issue.code}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(issue);
  }
  return out.slice(0, 10);
}

/** Discord's "Invalid Form Body" answer (code 50035) with errors nested along each issue's path. */
export function invalidFormBody(issues: Issue[]): Json {
  const errors: Json = {};
  for (const issue of issues) {
    let node = errors;
    for (const segment of issue.path) {
      const key = String(segment);
      node[key] ??= {};
      node = node[key] as Json;
    }
    const list = (node['_errors'] ??= []) as { code: string; message: string }[];
    list.push({ code: issue.code, message: issue.message });
  }
  return { message: 'Invalid Form Body', code: 50035, errors };
}

// ---------------------------------------------------------------------------------------------------
// Discord's documented limits (the spec states some, not all: content is 4000 there for users, 2000 for bots).

export const LIMITS = {
  content: 2000,
  embeds: 10,
  embedTotal: 6000,
  embedTitle: 256,
  embedDescription: 4096,
  embedFields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footerText: 2048,
  authorName: 256,
  actionRows: 5,
  rowComponents: 5,
  customId: 100,
  buttonLabel: 80,
  modalTitle: 45,
  modalComponents: 5,
  textInputLabel: 45,
  textInputValue: 4000,
  textInputPlaceholder: 100,
  labelDescription: 100,
  autocompleteChoices: 25,
  choiceName: 100,
  choiceValue: 100,
  commandOptions: 25,
  commandChoices: 25,
} as const;

const MAX = (path: (string | number)[], limit: number): Issue => ({
  path,
  code: 'BASE_TYPE_MAX_LENGTH',
  message: `Must be ${limit} or fewer in length.`,
});
const REQUIRED = (path: (string | number)[]): Issue => ({ path, code: 'BASE_TYPE_REQUIRED', message: 'This field is required' });

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const arr = (v: unknown): unknown[] | undefined => (Array.isArray(v) ? v : undefined);
const obj = (v: unknown): Json | undefined => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined);

/** Message-shaped bodies (channel messages, webhooks, interaction responses): content, embeds, components. */
export function messageLimitIssues(body: Json, base: (string | number)[] = []): Issue[] {
  const issues: Issue[] = [];
  const content = str(body['content']);
  if (content !== undefined && content.length > LIMITS.content) issues.push(MAX([...base, 'content'], LIMITS.content));
  const embeds = arr(body['embeds']);
  if (embeds) {
    if (embeds.length > LIMITS.embeds) issues.push(MAX([...base, 'embeds'], LIMITS.embeds));
    let total = 0;
    embeds.forEach((raw, i) => {
      const embed = obj(raw) ?? {};
      const at = [...base, 'embeds', i];
      const measure = (value: unknown, limit: number, path: (string | number)[]): void => {
        const s = str(value);
        if (s === undefined) return;
        total += s.length;
        if (s.length > limit) issues.push(MAX(path, limit));
      };
      measure(embed['title'], LIMITS.embedTitle, [...at, 'title']);
      measure(embed['description'], LIMITS.embedDescription, [...at, 'description']);
      measure(obj(embed['footer'])?.['text'], LIMITS.footerText, [...at, 'footer', 'text']);
      measure(obj(embed['author'])?.['name'], LIMITS.authorName, [...at, 'author', 'name']);
      const fields = arr(embed['fields']);
      if (fields) {
        if (fields.length > LIMITS.embedFields) issues.push(MAX([...at, 'fields'], LIMITS.embedFields));
        fields.forEach((f, j) => {
          const field = obj(f) ?? {};
          for (const [key, limit] of [['name', LIMITS.fieldName], ['value', LIMITS.fieldValue]] as const) {
            const s = str(field[key]);
            if (!s) issues.push(REQUIRED([...at, 'fields', j, key]));
            measure(s, limit, [...at, 'fields', j, key]);
          }
        });
      }
    });
    if (total > LIMITS.embedTotal) {
      issues.push({ path: [...base, 'embeds'], code: 'MAX_EMBED_SIZE_EXCEEDED', message: `Embed size exceeds maximum size of ${LIMITS.embedTotal}` });
    }
  }
  const components = arr(body['components']);
  const flags = typeof body['flags'] === 'number' ? body['flags'] : 0;
  // Components V2 (flag 1 << 15) has its own layout rules; the spec's 40-component cap covers it.
  if (components && !(flags & (1 << 15))) issues.push(...componentIssues(components, [...base, 'components']));
  return issues;
}

function componentIssues(rows: unknown[], at: (string | number)[]): Issue[] {
  const issues: Issue[] = [];
  if (rows.length > LIMITS.actionRows) issues.push(MAX(at, LIMITS.actionRows));
  const ids = new Set<string>();
  rows.forEach((raw, i) => {
    const row = obj(raw) ?? {};
    const children = arr(row['components']) ?? [];
    if (row['type'] !== 1) return;
    if (children.length > LIMITS.rowComponents) issues.push(MAX([...at, i, 'components'], LIMITS.rowComponents));
    const hasSelect = children.some((c) => [3, 5, 6, 7, 8].includes(Number(obj(c)?.['type'])));
    if (hasSelect && children.length > 1) {
      issues.push({ path: [...at, i, 'components'], code: 'COMPONENT_LAYOUT_WIDTH_EXCEEDED', message: 'The specified component exceeds the maximum width' });
    }
    children.forEach((c, j) => {
      const component = obj(c) ?? {};
      const id = str(component['custom_id']);
      if (id !== undefined) {
        if (id.length > LIMITS.customId) issues.push(MAX([...at, i, 'components', j, 'custom_id'], LIMITS.customId));
        if (ids.has(id)) {
          issues.push({ path: [...at, i, 'components', j, 'custom_id'], code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
        }
        ids.add(id);
      }
      const label = str(component['label']);
      if (component['type'] === 2 && label !== undefined && label.length > LIMITS.buttonLabel) {
        issues.push(MAX([...at, i, 'components', j, 'label'], LIMITS.buttonLabel));
      }
    });
  });
  return issues;
}

/** Modal (interaction callback type 9) data. */
export function modalLimitIssues(data: Json, base: (string | number)[] = ['data']): Issue[] {
  const issues: Issue[] = [];
  const title = str(data['title']);
  if (!title) issues.push(REQUIRED([...base, 'title']));
  else if (title.length > LIMITS.modalTitle) issues.push(MAX([...base, 'title'], LIMITS.modalTitle));
  const customId = str(data['custom_id']);
  if (!customId) issues.push(REQUIRED([...base, 'custom_id']));
  else if (customId.length > LIMITS.customId) issues.push(MAX([...base, 'custom_id'], LIMITS.customId));
  const components = arr(data['components']) ?? [];
  if (components.length === 0) issues.push({ path: [...base, 'components'], code: 'BASE_TYPE_MIN_LENGTH', message: 'Must be 1 or more in length.' });
  if (components.length > LIMITS.modalComponents) issues.push(MAX([...base, 'components'], LIMITS.modalComponents));
  const ids = new Set<string>();
  components.forEach((raw, i) => {
    const top = obj(raw) ?? {};
    // Either an action row holding one text input, or a label (type 18) wrapping one component.
    const inputs = top['type'] === 18 ? [obj(top['component'])] : (arr(top['components']) ?? []).map(obj);
    if (top['type'] === 18) {
      const label = str(top['label']);
      if (label && label.length > LIMITS.textInputLabel) issues.push(MAX([...base, 'components', i, 'label'], LIMITS.textInputLabel));
      const description = str(top['description']);
      if (description && description.length > LIMITS.labelDescription)
        issues.push(MAX([...base, 'components', i, 'description'], LIMITS.labelDescription));
    }
    inputs.forEach((input, j) => {
      if (!input) return;
      const at = top['type'] === 18 ? [...base, 'components', i, 'component'] : [...base, 'components', i, 'components', j];
      const id = str(input['custom_id']);
      if (id && ids.has(id)) issues.push({ path: [...at, 'custom_id'], code: 'COMPONENT_CUSTOM_ID_DUPLICATED', message: 'Component custom id cannot be duplicated' });
      if (id) ids.add(id);
      const label = str(input['label']);
      if (label && label.length > LIMITS.textInputLabel) issues.push(MAX([...at, 'label'], LIMITS.textInputLabel));
      const value = str(input['value']);
      if (value && value.length > LIMITS.textInputValue) issues.push(MAX([...at, 'value'], LIMITS.textInputValue));
      const placeholder = str(input['placeholder']);
      if (placeholder && placeholder.length > LIMITS.textInputPlaceholder) issues.push(MAX([...at, 'placeholder'], LIMITS.textInputPlaceholder));
      // Text inputs: min_length 0–4000, max_length 1–4000, min ≤ max, and a pre-filled value within them.
      const min = input['min_length'];
      const max = input['max_length'];
      if (typeof min === 'number' && (!Number.isInteger(min) || min < 0 || min > LIMITS.textInputValue))
        issues.push({ path: [...at, 'min_length'], code: 'NUMBER_TYPE_MAX', message: `int value should be between 0 and ${LIMITS.textInputValue}.` });
      if (typeof max === 'number' && (!Number.isInteger(max) || max < 1 || max > LIMITS.textInputValue))
        issues.push({ path: [...at, 'max_length'], code: 'NUMBER_TYPE_MAX', message: `int value should be between 1 and ${LIMITS.textInputValue}.` });
      if (typeof min === 'number' && typeof max === 'number' && min > max)
        issues.push({ path: [...at, 'min_length'], code: 'COMPONENT_INVALID_LENGTH_RANGE', message: 'min_length must be less than or equal to max_length.' });
      if (value && ((typeof max === 'number' && value.length > max) || (typeof min === 'number' && value.length < min)))
        issues.push({ path: [...at, 'value'], code: 'BASE_TYPE_BAD_LENGTH', message: `Must be between ${typeof min === 'number' ? min : 0} and ${typeof max === 'number' ? max : LIMITS.textInputValue} in length.` });
    });
  });
  return issues;
}

/** Autocomplete result (interaction callback type 8) data. */
export function autocompleteLimitIssues(data: Json, base: (string | number)[] = ['data']): Issue[] {
  const issues: Issue[] = [];
  const choices = arr(data['choices']);
  if (!choices) return [REQUIRED([...base, 'choices'])];
  if (choices.length > LIMITS.autocompleteChoices) issues.push(MAX([...base, 'choices'], LIMITS.autocompleteChoices));
  choices.forEach((raw, i) => {
    const choice = obj(raw) ?? {};
    const name = str(choice['name']);
    if (!name) issues.push(REQUIRED([...base, 'choices', i, 'name']));
    else if (name.length > LIMITS.choiceName) issues.push(MAX([...base, 'choices', i, 'name'], LIMITS.choiceName));
    const value = choice['value'];
    if (typeof value === 'string' && value.length > LIMITS.choiceValue) issues.push(MAX([...base, 'choices', i, 'value'], LIMITS.choiceValue));
  });
  return issues;
}

const COMMAND_NAME = /^[-_'\p{L}\p{N}\p{sc=Deva}\p{sc=Thai}]{1,32}$/u;

/** Application command definitions (PUT/POST commands): names, descriptions, option order and counts. */
export function commandLimitIssues(command: Json, base: (string | number)[]): Issue[] {
  const issues: Issue[] = [];
  const type = command['type'] ?? 1;
  const name = str(command['name']) ?? '';
  if (type === 1 && (!COMMAND_NAME.test(name) || name !== name.toLowerCase())) {
    issues.push({ path: [...base, 'name'], code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
  }
  if (type === 1) {
    const description = str(command['description']) ?? '';
    if (description.length < 1 || description.length > 100) {
      issues.push({ path: [...base, 'description'], code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' });
    }
  }
  issues.push(...optionIssues(arr(command['options']) ?? [], [...base, 'options']));
  return issues;
}

function optionIssues(options: unknown[], at: (string | number)[]): Issue[] {
  const issues: Issue[] = [];
  if (options.length > LIMITS.commandOptions) issues.push(MAX(at, LIMITS.commandOptions));
  const names = new Set<string>();
  let sawOptional = false;
  options.forEach((raw, i) => {
    const option = obj(raw) ?? {};
    const name = str(option['name']) ?? '';
    if (!COMMAND_NAME.test(name) || name !== name.toLowerCase()) {
      issues.push({ path: [...at, i, 'name'], code: 'APPLICATION_COMMAND_INVALID_NAME', message: 'Command name is invalid' });
    }
    if (names.has(name)) issues.push({ path: [...at, i, 'name'], code: 'APPLICATION_COMMAND_OPTIONS_NAME_ALREADY_EXISTS', message: 'Option names must be unique' });
    names.add(name);
    const description = str(option['description']) ?? '';
    if (description.length < 1 || description.length > 100) {
      issues.push({ path: [...at, i, 'description'], code: 'BASE_TYPE_BAD_LENGTH', message: 'Must be between 1 and 100 in length.' });
    }
    const type = option['type'];
    if (type === 1 || type === 2) {
      issues.push(...optionIssues(arr(option['options']) ?? [], [...at, i, 'options']));
      return;
    }
    if (option['required'] === true && sawOptional) {
      issues.push({ path: [...at, i, 'required'], code: 'APPLICATION_COMMAND_OPTIONS_REQUIRED_INVALID', message: 'Required options must be placed before non-required options' });
    }
    if (option['required'] !== true) sawOptional = true;
    const choices = arr(option['choices']);
    if (choices && choices.length > LIMITS.commandChoices) issues.push(MAX([...at, i, 'choices'], LIMITS.commandChoices));
    if (choices && choices.length > 0 && option['autocomplete'] === true) {
      issues.push({ path: [...at, i, 'autocomplete'], code: 'APPLICATION_COMMAND_AUTOCOMPLETE_INVALID', message: 'Autocomplete cannot be set with choices' });
    }
  });
  return issues;
}
