# Redis 7 from Debian's packages, for docker/compose.yml and docker/stack.yml:
# append-only file in /data, no password by default (only the private
# network reaches it; set REDIS_PASSWORD to require one, and put it in the
# app's REDIS_URL). Runs as the redis user.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends redis-server redis-tools \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o redis -g redis -m 0750 /data
USER redis
WORKDIR /data
VOLUME /data
EXPOSE 6379
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=5 \
  CMD ["sh", "-c", "[ \"$(REDISCLI_AUTH=\"${REDIS_PASSWORD:-}\" redis-cli -h 127.0.0.1 ping)\" = PONG ]"]
# sh -c so that REDIS_PASSWORD, when set, becomes --requirepass.
CMD ["sh", "-c", "exec redis-server --bind 0.0.0.0 --port 6379 --protected-mode no --dir /data --appendonly yes --appendfsync everysec --save '' --daemonize no ${REDIS_PASSWORD:+--requirepass \"$REDIS_PASSWORD\"}"]
