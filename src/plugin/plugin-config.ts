/**
 * A plugin's own config file (plugvisor.config, YAML or JSON), validated against its configSchema.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { PlugvisorError } from '../errors.js';
import { compileUserSchema, describeSchemaErrors } from '../config/schema-validator.js';
import type { PluginManifest } from './manifest.js';

export function loadPluginConfig(manifest: PluginManifest): unknown {
  if (manifest.configFile === undefined) return undefined;
  const fail = (file: string, reason: string, cause?: unknown): PlugvisorError =>
    new PlugvisorError('PLUGVISOR_PLUGIN_CONFIG_INVALID', `plugin "${manifest.name}": ${file}: ${reason}`, { plugin: manifest.name, file, cause });
  const config = parseFile(manifest.configFile, fail);
  if (manifest.configSchemaFile !== undefined) {
    const schema = parseFile(manifest.configSchemaFile, fail);
    let validate;
    try {
      validate = compileUserSchema(schema as object);
    } catch (err) {
      throw fail(manifest.configSchemaFile, `is not a valid JSON Schema: ${(err as Error).message}`, err);
    }
    if (!validate(config)) throw fail(manifest.configFile, describeSchemaErrors(validate.errors));
  }
  return config;
}

function parseFile(file: string, fail: (file: string, reason: string, cause?: unknown) => PlugvisorError): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw fail(file, `cannot be read: ${(err as Error).message}`, err);
  }
  try {
    return file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw fail(file, `cannot be parsed: ${(err as Error).message}`, err);
  }
}
