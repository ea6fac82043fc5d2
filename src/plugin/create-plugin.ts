/**
 * `plugvisor dev plugin create NAME`: writes plugins/<folder> under the project root from a
 * template (plugin-templates.ts). Refuses to write over anything.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';
import { PlugvisorError } from '../errors.js';
import { PLUGVISOR_VERSION } from '../version.js';
import { PACKAGE_NAME_PATTERN } from './manifest-schema.js';
import { renderTemplate, TEMPLATES, type TemplateName } from './plugin-templates.js';

const PACKAGE_NAME = new RegExp(PACKAGE_NAME_PATTERN);

export interface CreatedPlugin {
  name: string;
  dir: string;
  template: TemplateName;
  files: string[];
}

export function createPlugin(root: string, name: string, template: string): CreatedPlugin {
  if (!PACKAGE_NAME.test(name) || name.length > 214) {
    throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `"${name}" is not a valid plugin name: lowercase letters, digits, ".", "_", "-", "~", optionally @scope/name`);
  }
  if (!(TEMPLATES as readonly string[]).includes(template)) {
    throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `unknown template "${template}" (templates: ${TEMPLATES.join(', ')})`);
  }
  const dir = join(root, 'plugins', name.replace(/^@[^/]+\//, ''));
  if (existsSync(dir)) {
    throw new PlugvisorError('PLUGVISOR_BAD_ARGUMENTS', `${dir} already exists: choose another name or remove it`, { file: dir });
  }
  const files = renderTemplate(template as TemplateName, name, `^${semver.major(PLUGVISOR_VERSION)}.0.0`);
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const [file, content] of Object.entries(files)) {
    writeFileSync(join(dir, file), content, { flag: 'wx' });
    written.push(join(dir, file));
  }
  return { name, dir, template: template as TemplateName, files: written };
}
