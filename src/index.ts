export { Supervisor, type SupervisorOptions, type PluginProxy } from './supervisor.js';
export { definePlugin, type PluginDefinition, type PluginContext, type PluginCommand, type CommandsOf, type ConnectInfo } from './protocol/plugin-definition.js';
export { PlugvisorError, ErrorCodes, isPlugvisorError, type ErrorCode } from './errors.js';
export type { PluginInfo, DependencyInfo } from './plugin-info.js';
export type { SupervisorEventMap, SupervisorEvent } from './supervisor-events.js';
export type { HealthReport } from './protocol/messages.js';
export type { ResolvedConfig } from './config/config-schema.js';
export { PLUGVISOR_VERSION } from './version.js';
