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

/**
 * Where the call was when its plugin stopped: not yet sent, running in the plugin's worker, or
 * handed to a pool (whose queue and running tasks cannot be told apart from the host).
 */
export type StoppedAt = 'before' | 'running' | 'in-pool';

export function pluginStopped(plugin: string, what: string, at: StoppedAt = 'before'): PlugvisorError {
  const when = at === 'before' ? `before ${what} could run`
    : at === 'running' ? `while ${what} was running (it did not finish within the stop's timeout)`
    : `while ${what} was queued or running in its pool (it did not finish within the stop's timeout)`;
  return new PlugvisorError('PLUGVISOR_PLUGIN_STOPPED', `plugin "${plugin}" was stopped ${when}`, { plugin });
}
