#!/bin/sh
# Entry point of the app image (brainstorm-fcgi, brainstormctl).
#
# Secrets can come as files (Docker/Swarm secrets, Kubernetes secret
# volumes): for each secret key K, K_FILE=/path sets K to the file's content
# (one trailing newline removed). Setting both K and K_FILE is an error.
# Then the command runs in place of this script (exec), so it gets SIGTERM.
set -eu

for key in DATABASE_URL REDIS_URL CLAUDE_API_KEY JWT_SECRET JWT_REFRESH_SECRET; do
	eval "file=\${${key}_FILE:-}"
	[ -n "$file" ] || continue
	eval "set_already=\${${key}+x}"
	if [ -n "$set_already" ]; then
		echo "brainstorm-entrypoint: both $key and ${key}_FILE are set" >&2
		exit 1
	fi
	if [ ! -r "$file" ]; then
		echo "brainstorm-entrypoint: ${key}_FILE: cannot read $file" >&2
		exit 1
	fi
	value=$(cat "$file")
	export "$key=$value"
	unset "${key}_FILE"
done

exec "$@"
