# One image for every service; SERVICE picks which one runs (metering, rating, limits, invoicing, payments).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json nx.json tsconfig.base.json ./
COPY proto proto
COPY tools tools
COPY libs libs
COPY apps apps
COPY test/package.json test/package.json
RUN npm ci --no-audit --no-fund \
  && NX_DAEMON=false npx nx run-many -t build \
  && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app /app
ARG SERVICE=metering
ENV SERVICE=${SERVICE}
USER node
CMD ["sh", "-c", "exec node apps/$SERVICE"]
