/**
 * Every error plugvisor raises, in one table. Users match on `code`, never on the class: codes are
 * stable once published and never reused. docs/errors.md documents each one (a test keeps the two
 * in step).
 */
export const ErrorCodes = {
  // configuration and manifests
  PLUGVISOR_CONFIG_INVALID: 'The supervisor configuration has an unknown key, a wrong type or cannot be parsed.',
  PLUGVISOR_CONFIG_NOT_FOUND: 'The configuration file given to the supervisor does not exist.',
  PLUGVISOR_MANIFEST_NOT_FOUND: 'The plugin folder has no package.json.',
  PLUGVISOR_MANIFEST_INVALID: "The plugin's package.json cannot be parsed or fails its schema.",
  PLUGVISOR_ENGINE_INCOMPATIBLE: "The plugin's engines.plugvisor range does not include this plugvisor version.",
  PLUGVISOR_PLUGIN_CONFIG_INVALID: "The plugin's config file cannot be read or fails its configSchema.",
  PLUGVISOR_DEPENDENCY_INSTALL_FAILED: "development.auto_install_deps: npm install in the plugin's folder failed.",
  PLUGVISOR_PACKAGE_NOT_FOUND: 'A plugin requested with fromPackage is not installed, or its version is outside the range.',
  // plugin code
  PLUGVISOR_COMPILE_FAILED: "The plugin's source could not be transformed (syntax error, unresolvable import).",
  PLUGVISOR_PLUGIN_INVALID: "The plugin's entry has no default export, or the export has no commands.",
  PLUGVISOR_PLUGIN_LOAD_FAILED: "The plugin's module threw while it was imported, or its worker died while starting.",
  PLUGVISOR_SETUP_FAILED: "The plugin's state() or setup() threw while it was activated.",
  PLUGVISOR_MIGRATE_FAILED: "The new version's migrate() threw on the old version's state.",
  PLUGVISOR_STATE_RESTORE_FAILED: 'A state snapshot could not be deserialised in the new worker.',
  // registry
  PLUGVISOR_PLUGIN_NOT_FOUND: 'No plugin of that name is loaded.',
  PLUGVISOR_PLUGIN_EXISTS: 'A plugin of that name is already loaded.',
  PLUGVISOR_DEPENDENCY_MISSING: 'A plugin in dependsOn is not loaded, or its version is outside the range.',
  PLUGVISOR_DEPENDENCY_CYCLE: 'dependsOn forms a cycle.',
  PLUGVISOR_HAS_DEPENDENTS: 'The plugin cannot be unloaded while other loaded plugins depend on it.',
  // calls
  PLUGVISOR_COMMAND_NOT_FOUND: 'The plugin has no command of that name.',
  PLUGVISOR_COMMAND_FAILED: "The plugin's command threw or rejected without a code of its own.",
  PLUGVISOR_ARGS_NOT_CLONEABLE: 'A call argument cannot be sent to a worker (structured clone failed).',
  PLUGVISOR_RESULT_NOT_CLONEABLE: "A command's result cannot be sent back from its worker.",
  PLUGVISOR_CALL_TIMEOUT: 'A call did not settle within the plugin\'s callTimeoutMs.',
  PLUGVISOR_PLUGIN_CRASHED: "The plugin's worker exited, ran out of memory, died of an uncaught error or stopped answering.",
  PLUGVISOR_PLUGIN_FAILED: 'The plugin crashed more often than its restart policy allows and is no longer restarted.',
  PLUGVISOR_PLUGIN_STOPPED: "The plugin was unloaded, or the supervisor stopped, before the call could run, or while it ran past the stop's timeout (`reload.timeout`); the message says which.",
  // reloads
  PLUGVISOR_RELOAD_TIMEOUT: 'A reload step (draining calls in flight, detaching, activating) outlived reload.timeout.',
  PLUGVISOR_STATE_NOT_SERIALIZABLE: "The plugin's state cannot be serialised with node:v8 (a function, a class with private fields, a native handle).",
  PLUGVISOR_HEALTH_FAILED: "The new version's health() did not report { ok: true }.",
  PLUGVISOR_RELOAD_FAILED: 'A reload failed for a reason no other code covers; the message and cause say which.',
  PLUGVISOR_NOT_STARTED: 'The supervisor has not been started, or has been stopped.',
  // HTTP dev server
  PLUGVISOR_HTTP_BAD_REQUEST: 'An HTTP request to the dev server had a malformed JSON body, a body that fails the route\'s schema, or an unsupported content type.',
  PLUGVISOR_HTTP_NOT_LOCAL: 'The dev server answers only loopback requests: the Host or Origin header named another host, or it was asked to listen on a non-loopback address.',
  PLUGVISOR_HTTP_ROUTE_NOT_FOUND: 'No dev server route matches the request\'s method and path.',
  PLUGVISOR_HTTP_PORT_IN_USE: 'The dev server cannot listen: another process already listens on that address and port.',
  PLUGVISOR_HTTP_LISTEN_FAILED: 'The dev server cannot listen on the address and port it was given (permission denied, address not available).',
  // control channel and CLI
  PLUGVISOR_HOST_NOT_RUNNING: 'No plugvisor host answers on the control socket of this project (or the --socket given).',
  PLUGVISOR_HOST_ALREADY_RUNNING: 'Another live host already answers on the control socket this host would open.',
  PLUGVISOR_HOST_STOPPING: 'The host is stopping: it answers the requests in flight and refuses new ones.',
  PLUGVISOR_CONTROL_UNAVAILABLE: 'The host could not open its control socket: the run folder is unsafe (a symlink, another owner) or listening failed.',
  PLUGVISOR_CONTROL_REQUEST_INVALID: 'A control-channel message was not valid JSON, named an unknown method, or lacked a parameter.',
  PLUGVISOR_BAD_ARGUMENTS: 'A CLI command was given missing, unknown or contradictory arguments, or an API method (load(), reload()) an argument of the wrong shape.',
  PLUGVISOR_WATCH_DISABLED: 'The host does not watch files, so there is no watcher to test.',
  PLUGVISOR_WATCH_NO_EVENTS: 'debug-watcher touched a file and the watcher reported no event for it.',
  PLUGVISOR_TESTS_FAILED: "A plugin's tests (dev plugin test) failed, or none were found.",
} as const;

export type ErrorCode = keyof typeof ErrorCodes;

export interface PlugvisorErrorDetails {
  /** The plugin the error concerns, when there is one. */
  plugin?: string;
  /** A file the error concerns (a manifest, a config file, a plugin entry). */
  file?: string;
  cause?: unknown;
  [key: string]: unknown;
}

export class PlugvisorError extends Error {
  readonly code: ErrorCode;
  plugin?: string;
  file?: string;

  constructor(code: ErrorCode, message: string, details: PlugvisorErrorDetails = {}) {
    const { cause, ...rest } = details;
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    Object.assign(this, rest);
  }

  override get name(): string {
    return 'PlugvisorError';
  }
}

/** Matches on `code`, so errors rebuilt from another thread count too. */
export function isPlugvisorError(value: unknown, code?: ErrorCode): value is PlugvisorError {
  const actual = value instanceof Error ? (value as { code?: unknown }).code : undefined;
  return typeof actual === 'string' && actual.startsWith('PLUGVISOR_') && (code === undefined || actual === code);
}
