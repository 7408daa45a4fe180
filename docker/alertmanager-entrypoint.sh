#!/bin/sh
# The alertmanager service (docker/compose.yml, docker/stack.yml): the
# monitoring image with this entry point. Writes the configuration from the
# ALERT_* variables (monitoring/alertmanager-config, in the image as
# brainstorm-alertmanager-config; ALERT_SMTP_PASSWORD_FILE for a secret),
# refuses to start when they name no destination, then runs Alertmanager on
# :9093, one instance (no cluster), its state in /alertmanager. Arguments are
# passed on to Alertmanager.
set -eu

config=/alertmanager/alertmanager.yml
brainstorm-alertmanager-config -o "$config" ||
	{ echo "brainstorm-alertmanager: not started (see above; docker/.env)" >&2; exit 1; }
exec /usr/bin/prometheus-alertmanager --config.file="$config" \
	--storage.path=/alertmanager --web.listen-address=:9093 \
	--cluster.listen-address= \
	--web.external-url="${ALERTMANAGER_EXTERNAL_URL:-http://127.0.0.1:9093/}" "$@"
