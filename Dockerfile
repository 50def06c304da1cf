# Multi-stage build on Node 22 LTS. The bot runs its TypeScript through tsx (a production
# dependency), so there is no separate compile step to drift from `npm start`.
FROM node:22-slim AS deps
WORKDIR /app
COPY package.json package-lock.json .npmrc ./
# .npmrc turns install scripts off: ccxt's postinstall reaches the network and nothing needs one.
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:22-slim
ENV NODE_ENV=production DATA_DIR=/data HEALTH_PORT=8080 HEALTH_HOST=0.0.0.0
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY src ./src
COPY commands ./commands
COPY drizzle ./drizzle
# Owner-only, as the bot makes DATA_DIR itself (it keeps the mode of a folder that exists); a new named
# volume starts with this owner and mode.
RUN mkdir -p /data && chown node:node /data && chmod 0700 /data
USER node
VOLUME ["/data"]
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD node -e "fetch('http://127.0.0.1:'+process.env.HEALTH_PORT+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# Slash-command registration runs from the same image: docker run --rm --env-file .env <image> npm run register
CMD ["node", "--import", "tsx", "src/main.ts"]
