# HighPress as a container: the local server (shared/runtime/server.ts) bundled into one file
# with esbuild, as the Lambda functions are, on Node 24 slim, as a non-root user. Multi-arch:
#   docker buildx build --platform linux/arm64,linux/amd64 -t highpress .
# The run stage holds the bundle and nothing else: no node_modules, no sources, no npm.
# tests/infra/container.test.ts builds the same bundle and starts it as CMD does.

FROM --platform=$BUILDPLATFORM node:24-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# The dev dependencies include esbuild; install scripts stay off (esbuild works without its own).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY shared ./shared
COPY infra ./infra
RUN npm run build:server

FROM node:24-slim
ENV NODE_ENV=production HOST=0.0.0.0 PORT=8080
WORKDIR /app
COPY --from=build --chown=node:node /src/dist/server/ ./
USER node
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:8080/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
CMD ["node", "server.mjs"]
