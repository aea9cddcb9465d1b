# One image per function, from its esbuild bundle: the bundle is the whole app, so the image
# is the Node runtime plus two files. Nothing is installed or built here or at run time.
#
#   make build
#   docker build -f images/function.Dockerfile --build-arg FUNCTION=enrich \
#     -t dev.local/big-data-pipeline/enrich:0.1.0 .
#
# `make deploy` runs exactly this for every function (podman works the same way). The build
# context is the repository root; function.Dockerfile.dockerignore beside this file keeps it
# to dist/*/index.mjs(.map), so node_modules never leaves the machine.
#
# Node 24 is the LTS line inside package.json's engines (>=20.19 <25); the bundles target
# node20, which 24 runs. Pinned to a full version and Alpine release (docker-library tag).
FROM node:24.21.0-alpine3.24

ARG FUNCTION
LABEL org.opencontainers.image.title="big-data-pipeline ${FUNCTION}" \
      org.opencontainers.image.description="big-data-pipeline ${FUNCTION} (esbuild bundle)" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV NODE_ENV=production \
    PORT=8080

WORKDIR /app
# Owned by root and read-only to the process: the pod runs with readOnlyRootFilesystem.
COPY dist/${FUNCTION}/index.mjs dist/${FUNCTION}/index.mjs.map /app/

# Numeric, so the kubelet can check runAsNonRoot without looking up a name (matches the
# runAsUser of knative/*.yaml).
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["node", "--enable-source-maps", "/app/index.mjs"]
