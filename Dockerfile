# The alexnet gRPC server as an image. Two stages: build (dev dependencies, the TypeScript
# compiler) and runtime (only what `alexnet serve` needs).
# A glibc base (Debian bookworm): onnxruntime-node and sharp ship prebuilt binaries for glibc,
# not for musl (alpine).
#   docker build -t alexnet:0.1.0 .
#   docker run --rm -p 50051:50051 -p 9464:9464 alexnet:0.1.0

FROM node:20-bookworm-slim AS build
WORKDIR /app
# .npmrc skips onnxruntime's CUDA download (README, "Dependencies, and why").
COPY package.json package-lock.json .npmrc tsconfig.json ./
COPY proto ./proto
COPY src ./src
# npm ci also runs the package's `prepare` (tsc); the sources are already here for it.
RUN npm ci
RUN npx tsc -p .
RUN npm prune --omit=dev

FROM node:20-bookworm-slim AS runtime
# tini as PID 1: it forwards SIGTERM (drain) and SIGHUP (model reload) to node and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/proto ./proto
# The shipped model, served when no --model or --model-dir is given.
COPY models ./models
# A model repository mounted here is served with --model-dir /models (--watch-models, or SIGHUP).
RUN mkdir /models && chown node:node /models
VOLUME /models
# ImageSearch's index (LanceDB) lives here: the models' folders may be read-only. Mount a named
# volume to keep it across containers; a fleet shares one PostgreSQL instead (--index postgres://...).
RUN mkdir /data && chown node:node /data
VOLUME /data
# Non-root: the node image's user (uid 1000, as the Kubernetes manifests' runAsUser).
USER node
# 50051: gRPC (alexnet.v1.AlexNet, alexnet.v1.ImageSearch, grpc.health.v1, reflection).
# 9464: HTTP /metrics (Prometheus), /healthz, /readyz.
EXPOSE 50051 9464
HEALTHCHECK --interval=10s --timeout=3s --start-period=120s \
  CMD ["node", "-e", "fetch('http://127.0.0.1:9464/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/src/cli.js"]
CMD ["serve", "--host", "0.0.0.0", "--port", "50051", "--metrics-port", "9464", "--index", "/data/index"]
