# The monitoring image, from Debian's packages: Prometheus (the default
# entry point), and for the services that run the same image with another
# entry point, Alertmanager (docker/alertmanager-entrypoint.sh: its
# configuration written from ALERT_* variables by
# monitoring/alertmanager-config) and the blackbox exporter (the readiness
# probe, monitoring/blackbox.yml). Prometheus scrapes the workers' /metrics
# through the web service's internal metrics port (docker/prometheus.yml),
# probes /api/ready through the blackbox service, evaluates
# monitoring/alerts.yml and sends to the alertmanager service. Runs as the
# prometheus user; data in /prometheus and /alertmanager.
ARG BASE_IMAGE=debian:bookworm
FROM ${BASE_IMAGE}
ENV DEBIAN_FRONTEND=noninteractive
RUN apt-get update \
 && apt-get install -y --no-install-recommends prometheus prometheus-alertmanager \
      prometheus-blackbox-exporter curl ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && install -d -o prometheus -g prometheus -m 0755 /prometheus /alertmanager \
      /etc/brainstorm-prometheus
COPY docker/prometheus.yml monitoring/blackbox.yml /etc/brainstorm-prometheus/
# The alert rules of monitoring/alerts.yml, when the tree has them (the
# first source only makes the COPY valid without them).
COPY docker/prometheus.yml monitoring/alerts.yml* /etc/brainstorm-prometheus/rules/
COPY monitoring/alertmanager-config /usr/local/bin/brainstorm-alertmanager-config
COPY docker/alertmanager-entrypoint.sh /usr/local/bin/brainstorm-alertmanager
RUN rm /etc/brainstorm-prometheus/rules/prometheus.yml \
 && promtool check config /etc/brainstorm-prometheus/prometheus.yml \
 && prometheus-blackbox-exporter --config.check \
      --config.file=/etc/brainstorm-prometheus/blackbox.yml \
 && ALERT_WEBHOOK_URL=http://example.invalid/ brainstorm-alertmanager-config >/tmp/am.yml \
 && amtool check-config /tmp/am.yml && rm /tmp/am.yml
USER prometheus
VOLUME /prometheus
EXPOSE 9090
HEALTHCHECK --interval=10s --timeout=5s --start-period=10s --retries=3 \
  CMD ["curl", "-fsS", "--max-time", "4", "-o", "/dev/null", "http://127.0.0.1:9090/-/ready"]
ENTRYPOINT ["/usr/bin/prometheus"]
CMD ["--config.file=/etc/brainstorm-prometheus/prometheus.yml", \
     "--storage.tsdb.path=/prometheus", "--storage.tsdb.retention.time=15d", \
     "--web.listen-address=:9090", "--web.enable-lifecycle"]
