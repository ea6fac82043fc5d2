#!/usr/bin/env node
/**
 * The plugvisor CLI. Each command group lives in its own file and only maps flags onto the host
 * (through the control channel) or onto a library function; commands that are not finished are
 * not registered (and so not in --help, which lists every command).
 */
import { Command, CommanderError } from 'commander';
import { PLUGVISOR_VERSION } from '../version.js';
import { registerDevCommands } from './dev-commands.js';
import { registerDevPluginCommands } from './dev-plugin-commands.js';
import { exitWithError } from './output.js';
import { registerPluginsCommands } from './plugins-commands.js';
import { registerPluginsDebugCommands } from './plugins-debug-commands.js';
import { registerStartCommand } from './start-command.js';

const program = new Command()
  .name('plugvisor')
  .description('Worker-thread isolated plugin supervisor: crash isolation and zero-downtime plugin reloads.')
  .version(PLUGVISOR_VERSION)
  .option('--dev-mode', 'development mode (debug logging, development features of the config)')
  // Its options (--version, --dev-mode) only before the command: `plugins load --version ^2` is load's.
  .enablePositionalOptions()
  // Usage errors become one line on stderr (see the catch below), not commander's text and help.
  .exitOverride()
  .configureOutput({ outputError: () => undefined });

registerStartCommand(program);
const plugins = program.command('plugins').description('operate the plugins of the running host');
registerPluginsCommands(plugins);
registerPluginsDebugCommands(plugins);
const dev = program.command('dev').description('development: mode, HTTP dev server, writing and checking plugins');
registerDevCommands(dev);
registerDevPluginCommands(dev.command('plugin').description('create, validate, test, debug and monitor one plugin'));

program.addHelpText('after', () => `\nAll commands:\n${allCommands(program).map((line) => `  ${line}`).join('\n')}\n\n`
  + 'Commands other than start and dev server talk to the host running from the current folder (or --socket).\n'
  + 'Every command exits 0 on success, non-zero with a one-line reason on stderr otherwise. See docs/cli.md.');

/** Every runnable command, with its arguments: the whole tree, not only the top level. */
function allCommands(cmd: Command, prefix = ''): string[] {
  return cmd.commands.flatMap((sub) => {
    const path = `${prefix}${sub.name()}`;
    if (sub.commands.length > 0) return allCommands(sub, `${path} `);
    const args = sub.registeredArguments.map((a) => (a.required ? `<${a.name()}${a.variadic ? '...' : ''}>` : `[${a.name()}${a.variadic ? '...' : ''}]`));
    return [[`plugvisor ${path}`, ...args, '[options]'].join(' ')];
  });
}

// `plugvisor plugins list | head`: a reader that goes away is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) process.exit(0); // --help, --version
    // A group alone (plugvisor plugins) has shown its help on stderr: enough said.
    if (err.code === 'commander.help') process.exit(2);
    exitWithError(Object.assign(new Error(`${err.message.replace(/^error: /, '')} (see --help)`), { code: 'PLUGVISOR_BAD_ARGUMENTS' }));
  }
  exitWithError(err);
});
