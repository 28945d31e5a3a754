# flowpilot: the engine (JobManager / TaskManager) and the agent in one image; the CLI is the entrypoint.
# Node 24 runs the TypeScript sources directly (type stripping), so there is no compile stage:
# the first stage installs production dependencies, the second copies them beside the sources.

FROM node:24-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
 && npm cache clean --force

FROM node:24-bookworm-slim AS runtime
# The agent's memory settings (BENCHMARKS.md, "Agent evaluation"): glibc returns freed memory
# to the OS, and Node's compile cache skips the TypeScript stripper after the first start.
ENV NODE_ENV=production \
    FLOWPILOT_LOG_LEVEL=info \
    GLIBC_TUNABLES=glibc.malloc.arena_max=2:glibc.malloc.trim_threshold=131072:glibc.malloc.mmap_threshold=131072 \
    NODE_COMPILE_CACHE=/app/.node-compile-cache
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
# Warm the compile cache at build time; the root filesystem is read-only at run time.
RUN node --input-type=module -e "await import('/app/agent/process/main.ts'); await import('/app/engine/jobmanager/job-manager.ts')" \
 && chmod -R a+rX /app/.node-compile-cache
USER 10001:10001
# REST 8081, RPC 6123, TaskManager data 6124, engine metrics 9249, agent 9269.
EXPOSE 8081 6123 6124 9249 9269
ENTRYPOINT ["node", "--max-semi-space-size=16", "/app/cli/main.ts"]
CMD ["--help"]
