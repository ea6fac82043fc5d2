/**
 * comlink's own Node adapter (comlink/dist/esm/node-adapter.mjs), restated here because that file
 * ships no .d.mts and its UMD twin's `export default` types do not match Node's CJS interop.
 * Behaviour is identical: 'message' listeners wrapped into { data } events.
 */
import type { Endpoint } from 'comlink';

interface NodePort {
  postMessage(message: unknown, transfer?: readonly any[]): void;
  on(event: 'message', listener: (data: unknown) => void): unknown;
  off(event: 'message', listener: (data: unknown) => void): unknown;
}

type Handler = ((event: { data: unknown }) => void) | { handleEvent(event: { data: unknown }): void };

export function nodeEndpoint(port: NodePort): Endpoint {
  const listeners = new WeakMap<object, (data: unknown) => void>();
  const endpoint = {
    postMessage: (message: unknown, transfer?: readonly any[]) => port.postMessage(message, transfer),
    addEventListener: (_type: string, handler: Handler) => {
      const listener = (data: unknown): void => {
        if (typeof handler === 'function') handler({ data });
        else handler.handleEvent({ data });
      };
      port.on('message', listener);
      listeners.set(handler, listener);
    },
    removeEventListener: (_type: string, handler: Handler) => {
      const listener = listeners.get(handler);
      if (listener === undefined) return;
      port.off('message', listener);
      listeners.delete(handler);
    },
  };
  return endpoint as unknown as Endpoint;
}
