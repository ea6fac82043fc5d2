/** One thing a diagnosis found. `problem` means the plugin will not reload until it is fixed. */
export type DiagnosisCheck = 'status' | 'permissions' | 'syntax' | 'locks' | 'dependencies' | 'state';

export interface Finding {
  check: DiagnosisCheck;
  level: 'ok' | 'info' | 'warn' | 'problem';
  message: string;
  /** The PLUGVISOR_* code of the failure, for problems that have one. */
  code?: string;
  file?: string;
}
