/** `node --import <this file>`: installs plugvisor-resolve-hook.ts (see there) for a plugin's tests. */
import { register } from 'node:module';

register('./plugvisor-resolve-hook.js', import.meta.url);
