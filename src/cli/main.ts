#!/usr/bin/env node
/**
 * The plugvisor CLI. Each command group lives in its own file and only maps flags onto the
 * Supervisor; commands that are not finished are not registered (and so not in --help).
 */
import { Command } from 'commander';
import { PLUGVISOR_VERSION } from '../version.js';
import { registerStartCommand } from './start-command.js';
import { exitWithError } from './output.js';

const program = new Command()
  .name('plugvisor')
  .description('Worker-thread isolated plugin supervisor: crash isolation and zero-downtime plugin reloads.')
  .version(PLUGVISOR_VERSION)
  .option('--dev-mode', 'development mode (debug logging, development features of the config)')
  .showHelpAfterError();

registerStartCommand(program);

program.parseAsync(process.argv).catch(exitWithError);
