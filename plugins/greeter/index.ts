// Depends on two other plugins and calls them over direct worker-to-worker channels (ctx.plugins).
import { definePlugin } from 'plugvisor';

export default definePlugin({
  commands: {
    async greet(ctx, name: string) {
      const visits = (await ctx.plugins.counter!.increment!(1)) as number;
      const saved = (await ctx.plugins.store!.get!(`greeting:${name}`)) as string | undefined;
      return `${saved ?? 'Hello'}, ${name}! (visit ${visits})`;
    },
    async setGreeting(ctx, name: string, greeting: string) {
      return ctx.plugins.store!.set!(`greeting:${name}`, greeting);
    },
  },
});
