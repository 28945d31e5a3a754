# flowpilot: the engine (JobManager / TaskManager) and the agent in one image; the CLI is the entrypoint.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile stage:
# the first stage installs production dependencies, the second copies them beside the sources.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production \
    FLOWPILOT_LOG_LEVEL=info
WORKDIR /app
# A fixed non-root user; the chart's securityContext runs as the same uid.
RUN groupadd --system --gid 10001 flowpilot \
 && useradd --system --uid 10001 --gid flowpilot --home-dir /app --shell /usr/sbin/nologin flowpilot
COPY --from=deps /app/node_modules ./node_modules
COPY package.json ./
COPY bin ./bin
COPY cli ./cli
COPY common ./common
COPY engine ./engine
COPY agent ./agent
COPY rules ./rules
COPY dashboards/json ./dashboards/json
USER 10001:10001
# REST 8081, RPC 6123, TaskManager data 6124, engine metrics 9249, agent 9269.
EXPOSE 8081 6123 6124 9249 9269
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/cli/main.ts"]
CMD ["--help"]
