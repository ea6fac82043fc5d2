/** The errors both kinds of runtime (one worker, or a pool) raise for a plugin's calls. */
import { PlugvisorError } from '../errors.js';

export function commandNotFound(plugin: string, command: string, commands: Iterable<string> | undefined): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_COMMAND_NOT_FOUND',
    `plugin "${plugin}" has no command "${command}" (commands: ${[...(commands ?? [])].join(', ') || 'none'})`, { plugin, command });
}

export function pluginFailed(plugin: string, failure: Error | undefined): PlugvisorError {
  return new PlugvisorError('PLUGVISOR_PLUGIN_FAILED',
    `plugin "${plugin}" has failed and is not restarted: ${failure?.message ?? 'too many restarts'}`, { plugin, cause: failure });
}

export function pluginStopped(plugin: string, what: string, started = false): PlugvisorError {
  const when = started ? `while ${what} was running (it did not finish within the stop's timeout)` : `before ${what} could run`;
  return new PlugvisorError('PLUGVISOR_PLUGIN_STOPPED', `plugin "${plugin}" was stopped ${when}`, { plugin });
}
