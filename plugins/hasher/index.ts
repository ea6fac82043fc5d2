// A stateless, CPU-heavy plugin: its calls are spread over a pool of threads.
import { createHash, pbkdf2Sync } from 'node:crypto';
import { definePlugin } from 'plugvisor';

export default definePlugin({
  commands: {
    sha256(_ctx, text: string) {
      return createHash('sha256').update(text).digest('hex');
    },
    /** Key stretching: deliberately slow, the kind of work a pool pays off for. */
    stretch(_ctx, password: string, iterations: number = 100_000) {
      return pbkdf2Sync(password, 'plugvisor', iterations, 32, 'sha256').toString('hex');
    },
  },
});
