# One image per app from this one file:  docker build --build-arg APP=inventory -t orders/inventory .
# APP: order-receiving | order-processing | inventory | notification | payment-gateway-sim | mail-catcher
#
# build:   compiles only that app's project graph (tsc -b follows its project references), then stages the
#          app and the @orders/* libs it depends on (compiled dist/ only: no sources, tests or test rigs)
#          and installs just their production dependencies (npm ci --omit=dev --workspace apps/$APP).
# runtime: that tree, as the unprivileged user `node`, health-checked on /health/ready.
ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
ARG APP
RUN test -n "$APP" || (echo "build with --build-arg APP=<app>" >&2; exit 1)
WORKDIR /repo
COPY . .
RUN npm ci --no-audit --no-fund --ignore-scripts
RUN npx tsc -b "apps/$APP"
RUN node tools/focus.mjs stage "$APP" /out \
 && cd /out && npm ci --omit=dev --workspace "apps/$APP" --no-audit --no-fund --ignore-scripts \
 && node /repo/tools/focus.mjs prune "$APP" /out \
 && rm -f /out/package-lock.json \
 && cp /repo/tools/healthcheck.cjs /out/healthcheck.cjs

FROM ${NODE_IMAGE}
ARG APP
ENV NODE_ENV=production APP=${APP}
WORKDIR /app
COPY --from=build --chown=root:root /out ./
USER node
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 CMD ["node", "/app/healthcheck.cjs"]
# The app's working directory, so `node dist/migrate.js` (the migration job) works as well.
WORKDIR /app/apps/${APP}
# Heap bounds as under npm start (apps/system-e2e/src/system.ts, serviceHeapFlags): RSS stays near 150 MiB under a flood.
# SEMI_SPACE_MB, the young generation's semi-space: 2, and 8 for order-receiving (compose and its k8s Deployment set it).
# No --enable-source-maps (about 16 MiB per service): set NODE_OPTIONS=--enable-source-maps for TypeScript stack traces.
ENV SEMI_SPACE_MB=2
CMD ["sh", "-c", "exec node --max-old-space-size=128 --max-semi-space-size=${SEMI_SPACE_MB} dist/main.js"]
