// Example Meridian server plugin (see src/plugins/api.ts for the hook interface).
export default function register(server) {
  server.route('GET', '/hello', (ctx) => {
    const name = typeof ctx.query.name === 'string' ? ctx.query.name : 'world';
    ctx.body = { hello: name, plugin: server.metadata.general.name, version: server.metadata.general.version };
  });
  // A filter runs around every request: this one tags the responses it has seen. Tagging needs no
  // look at tiles asked anonymously, so it lets those skip it (and Koa).
  server.filter(async (ctx, next) => {
    await next();
    ctx.set('X-Meridian-Plugin', server.metadata.general.name);
  }, { anonymousTiles: false });
  server.log.info('hello plugin ready');
}
