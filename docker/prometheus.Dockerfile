# Prometheus from Debian's packages, scraping the workers' /metrics through
# the web service's internal metrics port (docker/prometheus.yml), with the
# alert rules of monitoring/alerts.yml. Runs as the prometheus user; data in
# /prometheus.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus -m 0755 /prometheus /etc/brainstorm-prometheus
COPY docker/prometheus.yml /etc/brainstorm-prometheus/prometheus.yml
# The alert rules of monitoring/alerts.yml, when the tree has them (the
# first source only makes the COPY valid without them).
COPY docker/prometheus.yml monitoring/alerts.yml* /etc/brainstorm-prometheus/rules/
RUN rm /etc/brainstorm-prometheus/rules/prometheus.yml \
 && promtool check config /etc/brainstorm-prometheus/prometheus.yml
USER prometheus
VOLUME /prometheus
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:9090/-/ready"]
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/brainstorm-prometheus/prometheus.yml", \
     "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=15d", \
     "--web.listen-address=:9090", "--web.enable-lifecycle"]
