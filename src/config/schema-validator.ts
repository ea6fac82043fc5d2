/**
 * ajv, set up once, with error messages that name the failing key path.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';

const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false, verbose: true });

export function compileSchema(schema: object): ValidateFunction {
  return ajv.compile(schema);
}

/** A plugin's own schema may carry an $id and be compiled again after every edit: own instance. */
export function compileUserSchema(schema: object): ValidateFunction {
  return new Ajv({ allErrors: true, useDefaults: true, strict: false }).compile(schema);
}

/** "hot_loading.watch.enabled must be boolean; hot_loading.colour is not a known key" */
export function describeSchemaErrors(errors: ErrorObject[] | null | undefined, prefix = ''): string {
  if (!errors || errors.length === 0) return 'invalid';
  const seen = new Set<string>();
  const oneOfBranch = errors.some((e) => e.keyword === 'oneOf');
  const parts: string[] = [];
  for (const e of errors) {
    // Inside a oneOf, each branch's own complaints are noise: the oneOf error says it better.
    if (oneOfBranch && e.keyword !== 'oneOf' && errors.some((o) => o.keyword === 'oneOf' && e.instancePath.startsWith(o.instancePath) && e.schemaPath.startsWith(o.schemaPath))) continue;
    const path = joinPath(prefix, e.instancePath);
    let text: string;
    if (e.keyword === 'additionalProperties') {
      text = `${joinPath(path, '/' + String(e.params['additionalProperty']))} is not a known key`;
    } else if (e.keyword === 'required') {
      text = `${joinPath(path, '/' + String(e.params['missingProperty']))} is required`;
    } else if (e.keyword === 'oneOf') {
      text = `${path || '(root)'} must match exactly one of the allowed forms`;
    } else if (e.keyword === 'const' && typeof e.parentSchema?.['errorMessage'] === 'string') {
      text = `${path || '(root)'} ${e.parentSchema['errorMessage'] as string}`;
    } else if (e.keyword === 'enum') {
      text = `${path || '(root)'} must be one of ${JSON.stringify(e.params['allowedValues'])}`;
    } else {
      text = `${path || '(root)'} ${e.message ?? 'is invalid'}`;
    }
    if (!seen.has(text)) {
      seen.add(text);
      parts.push(text);
    }
  }
  return parts.join('; ');
}

function joinPath(prefix: string, pointer: string): string {
  const segments = pointer.split('/').slice(1).map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  const tail = segments.map((s) => (/^\d+$/.test(s) ? `[${s}]` : `.${s}`)).join('');
  const joined = prefix + tail;
  return joined.startsWith('.') ? joined.slice(1) : joined;
}
