// Builds batch bodies for read-heavy.yml: n distinct articles, alternating counter types.
function batch(n) {
  const start = Math.floor(Math.random() * 1000);
  return {
    queries: Array.from({ length: n }, (_, i) => ({
      resource_id: `article_${(start + i) % 1000}`,
      counter_type: i % 2 === 0 ? "view" : "like",
    })),
  };
}

module.exports = {
  feedOf20(context, _events, done) {
    context.vars.feed = batch(20);
    return done();
  },
  pageOf100(context, _events, done) {
    context.vars.feed = batch(100);
    return done();
  },
};
