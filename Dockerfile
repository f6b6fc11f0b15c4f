# The one image every Meridian service task runs: the task definition's command picks the entry
# point (`node --import tsx <entry>`, infra/cloud/src/services.ts). The tasks run on linux/arm64:
#   docker buildx build --platform linux/arm64 -t <repository>:<tag> .
# The base image's Node is the release the root package.json pins (node in pnpm-workspace.yaml's
# catalog); infra/cloud/test/image.test.ts fails when the two drift apart.
FROM node:24.21.0-bookworm-slim

# Amazon's RDS CA bundle: Node does not trust RDS certificates by default (NODE_EXTRA_CA_CERTS).
ADD --chmod=0644 https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem /etc/ssl/certs/rds-global-bundle.pem

WORKDIR /app
RUN npm install -g pnpm@12.21.0
COPY . .
# The services run from the workspace under tsx (a root devDependency), so devDependencies stay.
RUN pnpm install --frozen-lockfile

USER node
