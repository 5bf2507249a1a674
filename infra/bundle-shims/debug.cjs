// What ioredis gets for the `debug` package in a deployed bundle (infra/bundling.ts aliases
// it): a logger that is never on. The package itself loads tty, os and colour detection at
// every cold start, for output that only DEBUG=ioredis:* would turn on, and a function's logs
// are HighPress's own JSON lines.
function createDebug(namespace) {
  const log = () => {};
  log.enabled = false;
  log.namespace = namespace;
  log.log = () => {};
  log.destroy = () => true;
  log.extend = (sub) => createDebug(`${namespace}:${sub}`);
  return log;
}
createDebug.default = createDebug;
createDebug.enable = () => {};
createDebug.disable = () => "";
createDebug.enabled = () => false;
module.exports = createDebug;
