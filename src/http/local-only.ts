/**
 * DNS-rebinding and cross-site defence. A page on evil.example can make a browser send requests to
 * 127.0.0.1 — directly (cross-site; the browser adds `Origin`) or through a DNS name that resolves
 * to 127.0.0.1 (rebinding; the browser sends `Host: evil.example:PORT`). Binding to loopback stops
 * neither, so every request must name a loopback host and the dev server's own port in `Host`, and,
 * when it carries an `Origin`, that origin must be the dev server itself.
 */
import { isIP } from 'node:net';
import { PlugvisorError } from '../errors.js';

/** Hostnames (as they appear in Host/Origin, IPv6 in brackets) that reach this machine only. */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

export function isLoopbackAddress(host: string): boolean {
  if (host === 'localhost' || host === '::1') return true;
  return isIP(host) === 4 && host.startsWith('127.');
}

/** The dev server's listen address: loopback only, else PLUGVISOR_HTTP_NOT_LOCAL. */
export function assertLoopbackAddress(host: string): void {
  if (!isLoopbackAddress(host)) {
    throw new PlugvisorError('PLUGVISOR_HTTP_NOT_LOCAL', `the dev server listens on loopback addresses only (127.0.0.1, ::1, localhost), not ${JSON.stringify(host)}`);
  }
}

/** The hosts a request may name: the loopback names, and the address the server listens on. */
export function allowedHosts(listenHost: string, port: number): Set<string> {
  const names = new Set(LOOPBACK_NAMES);
  names.add(isIP(listenHost) === 6 ? `[${listenHost}]` : listenHost);
  const hosts = new Set<string>();
  for (const name of names) {
    hosts.add(`${name}:${port}`);
    if (port === 80) hosts.add(name);
  }
  return hosts;
}

/** Undefined when the request may pass; else the error to answer it with (403). */
export function checkLocalRequest(hosts: ReadonlySet<string>, host: string | undefined, origin: string | undefined): PlugvisorError | undefined {
  if (host === undefined || !hosts.has(host.toLowerCase())) {
    return new PlugvisorError('PLUGVISOR_HTTP_NOT_LOCAL', `refused: Host ${JSON.stringify(host ?? '')} is not this dev server (use http://127.0.0.1:PORT/)`);
  }
  if (origin !== undefined && !isLocalOrigin(hosts, origin)) {
    return new PlugvisorError('PLUGVISOR_HTTP_NOT_LOCAL', `refused: Origin ${JSON.stringify(origin)} is not this dev server`);
  }
  return undefined;
}

function isLocalOrigin(hosts: ReadonlySet<string>, origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false; // "null" (sandboxed frames, file:) and garbage
  }
  return url.protocol === 'http:' && hosts.has(url.host.toLowerCase()) && origin.toLowerCase() === `http://${url.host.toLowerCase()}`;
}
