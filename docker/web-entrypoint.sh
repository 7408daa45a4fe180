#!/usr/bin/env bash
# Entry point of the web image: renders nginx/nginx.conf.in (installed as
# /usr/share/brainstorm-web/nginx.conf.in) with the placeholders that
# script/lib.sh's bs_nginx_render fills, then runs the command:
#
#   brainstorm-web-entrypoint nginx [ARGS...]   nginx in the foreground
#   brainstorm-web-entrypoint OTHER...          any other command, as is
#
# Environment (defaults in brackets):
#   BRAINSTORM_UPSTREAM  the workers' FastCGI addresses, HOST:PORT separated
#                        by spaces or commas [app:9000]; a name that resolves
#                        to several addresses (compose --scale) gives each
#   WEB_PORT             the site's port, on every address [8080]
#   METRICS_PORT         a port that serves only /metrics, for Prometheus
#                        inside the private network; never publish it [9145]
#   METRICS_ALLOW        the client networks allowed there [loopback and the
#                        private ranges]
#   TRUSTED_PROXIES      the proxies in front of this nginx (a load
#                        balancer, an ingress controller): addresses or
#                        CIDRs, separated by spaces or commas, whose
#                        X-Forwarded-For gives the client's address [none:
#                        the header is ignored, every client is the peer]
#   NCHAN_PORT           where the workers publish live events to nchan
#                        (their NCHAN_URL=http://web:PORT); the publisher
#                        server of the template, on a port of the private
#                        network that is never published [9146]
#   NCHAN_ALLOW          the client networks that may publish there (the
#                        template's own unix socket is always allowed)
#                        [loopback and the private ranges]
#   NCHAN_REDIS_URL      empty: nchan keeps its channels in this nginx's
#                        shared memory (one web container). With more than
#                        one, every nginx must see every channel: a Redis
#                        for nchan, redis://[:PASSWORD@]HOST:PORT[/DB], and
#                        the workers may publish to any of them [empty]
#   NGINX_WORKERS        nginx's worker processes, a count or auto [1]: nchan
#                        passes messages between workers, which cost more
#                        than a second worker gains on a few cores
#   NGINX_PRIORITY       nginx's worker_priority, a nice value from -20 to
#                        19, 0 for the one it starts with [-5 where the
#                        container may take it, else 0]:
#                        ahead of the workers and PostgreSQL for a core on a
#                        shared host. Below 0 it needs RLIMIT_NICE of 20 minus
#                        the value (compose: "ulimits: nice: 25" for -5), or
#                        root with CAP_SYS_NICE; a value the container may not
#                        take is refused
#   STREAMS_PER_ADDRESS  open event streams per client address, 1 to 65535
#                        [64]: beside the workers' cap per user
#                        (EVENTS_MAX_STREAMS); a team behind one NAT address
#                        shares it, so raise it for such an office
#   WEB_ROOT             the web app's files [/usr/share/brainstorm-web/html]
#   WEB_RUN_DIR          pid, temporary files, the rendered config
#                        [/run/brainstorm-web]
# Logs go to the container's output: access log (JSON lines) on stdout,
# errors on stderr.
set -euo pipefail

template=/usr/share/brainstorm-web/nginx.conf.in
upstream=${BRAINSTORM_UPSTREAM:-app:9000}
port=${WEB_PORT:-8080}
metrics_port=${METRICS_PORT:-9145}
metrics_allow=${METRICS_ALLOW:-127.0.0.1 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7}
trusted_proxies=${TRUSTED_PROXIES:-}
nchan_port=${NCHAN_PORT:-9146}
nchan_allow=${NCHAN_ALLOW:-127.0.0.1 ::1 10.0.0.0/8 172.16.0.0/12 192.168.0.0/16 fc00::/7}
nchan_redis=${NCHAN_REDIS_URL:-}
nginx_workers=${NGINX_WORKERS:-1}
nginx_priority=${NGINX_PRIORITY:-}
streams_per_address=${STREAMS_PER_ADDRESS:-64}
root=${WEB_ROOT:-/usr/share/brainstorm-web/html}
run=${WEB_RUN_DIR:-/run/brainstorm-web}

die() { echo "brainstorm-web-entrypoint: $*" >&2; exit 1; }

# The lowest nice value nginx may take here: any with CAP_SYS_NICE (bit 23
# of the effective set), else down to 20 - RLIMIT_NICE, and never above the
# current one (a process may always lower its own priority).
nice_floor() {
	local key value cap=0 limit now
	while read -r key value; do
		[ "$key" = CapEff: ] && cap=$value
	done </proc/self/status
	if (((16#$cap >> 23) & 1)); then
		echo -20
		return
	fi
	limit=$(ulimit -e)
	now=$(nice)
	[ "$limit" = unlimited ] && limit=40
	echo $((20 - limit < now ? 20 - limit : now))
}

# NGINX_PRIORITY, checked; unset: -5 where allowed, else 0.
priority() {
	local floor
	floor=$(nice_floor)
	if [ -z "$nginx_priority" ]; then
		echo $((floor <= -5 ? -5 : 0))
		return
	fi
	# As script/lib.sh's bs_nice_valid.
	[[ $nginx_priority =~ ^(-?(1?[0-9])|-20)$ ]] ||
		die "NGINX_PRIORITY: '$nginx_priority' is not a nice value (-20 to 19)"
	# 0 leaves the priority nginx started with.
	((nginx_priority == 0 || nginx_priority >= floor)) ||
		die "NGINX_PRIORITY: $nginx_priority is below what this container may take ($floor): give it RLIMIT_NICE $((20 - nginx_priority)) (compose: ulimits: nice: $((20 - nginx_priority)))"
	echo "$nginx_priority"
}

render() {
	local conf servers="" allow="" real_ip="" publish="" redis="" addr
	for addr in ${upstream//,/ }; do
		[[ $addr == *:* ]] || die "BRAINSTORM_UPSTREAM: '$addr' is not HOST:PORT"
		[ -n "$servers" ] && servers+=$'\n        '
		servers+="server $addr max_fails=3 fail_timeout=10s;"
	done
	[ -n "$servers" ] || die "BRAINSTORM_UPSTREAM is empty"
	for addr in $metrics_allow; do
		allow+="allow $addr; "
	done
	# As script/lib.sh's bs_real_ip_lines.
	for addr in ${trusted_proxies//,/ }; do
		[[ $addr =~ ^[0-9A-Fa-f.:]+(/[0-9]{1,3})?$ ]] ||
			die "TRUSTED_PROXIES: '$addr' is not an address or CIDR"
		[ -n "$real_ip" ] && real_ip+=$'\n    '
		real_ip+="set_real_ip_from $addr;"
	done
	real_ip=${real_ip:-# TRUSTED_PROXIES is empty: X-Forwarded-For is ignored.}
	[[ $nchan_port =~ ^[0-9]+$ ]] || die "NCHAN_PORT: '$nchan_port' is not a port"
	[[ $nchan_redis =~ ^(redis://[^[:space:]\"\;]+)?$ ]] ||
		die "NCHAN_REDIS_URL: '$nchan_redis' is not redis://[:PASSWORD@]HOST:PORT[/DB]"
	# The publisher server: the private port, for the private networks and
	# the template's own unix socket (nginx asks /sub/turn/ there), nobody
	# else.
	publish="listen $nchan_port;"
	for addr in $nchan_allow; do
		publish+=$'\n        '"allow $addr;"
	done
	publish+=$'\n        allow unix:;\n        deny all;'
	[[ $nginx_workers =~ ^([1-9][0-9]{0,2}|auto)$ ]] ||
		die "NGINX_WORKERS: '$nginx_workers' is not a count (1-999) or auto"
	nginx_priority=$(priority) || exit 1
	if ! [[ $streams_per_address =~ ^[1-9][0-9]{0,4}$ ]] || [ "$streams_per_address" -gt 65535 ]; then
		die "STREAMS_PER_ADDRESS: '$streams_per_address' is not a count (1-65535)"
	fi
	conf=$(<"$template")
	[[ $conf == *"# @NCHAN_PUBLISH_TCP@"* ]] ||
		die "$template: no '# @NCHAN_PUBLISH_TCP@' line for the publisher's port"
	conf=$(sed "s|^[[:space:]]*# @NCHAN_PUBLISH_TCP@.*|        # @NCHAN_PUBLISH_TCP@|" <<<"$conf")
	conf=${conf//"# @NCHAN_PUBLISH_TCP@"/"# Added by brainstorm-web-entrypoint (NCHAN_PORT, NCHAN_ALLOW)."$'\n        '"$publish"}
	if [ -n "$nchan_redis" ]; then
		# nchan 1.3.6 (bookworm) warns that these two are "discouraged" in
		# favour of an upstream with nchan_redis_server and nchan_redis_pass,
		# but with nchan_redis_pass at http level the channels stayed in
		# memory, and with nchan_use_redis added they went to the default
		# 127.0.0.1:6379: these work, warnings and all.
		redis="# Added by brainstorm-web-entrypoint (NCHAN_REDIS_URL): every"
		redis+=$'\n    '"# nginx of the site shares the channels through this Redis."
		redis+=$'\n    '"nchan_redis_url \"$nchan_redis\";"
		redis+=$'\n    '"nchan_use_redis on;"
		redis+=$'\n    '"nchan_redis_namespace \"brainstorm-nchan\";"
	fi
	# The template listens on 127.0.0.1 (script/server); in a container the
	# site listens on every address of the container's own network.
	[[ $conf == *"listen 127.0.0.1:@PORT@ "* ]] ||
		die "$template: no 'listen 127.0.0.1:@PORT@' line to adapt"
	conf=${conf//listen 127.0.0.1:@PORT@ /listen @PORT@ }
	# "user" means something only to a master started as root.
	if [ "$(id -u)" -ne 0 ]; then
		conf=${conf//user @USER@;/# user: the master does not run as root}
	fi
	conf=${conf//@NGINX_WORKERS@/$nginx_workers}
	conf=${conf//@NGINX_PRIORITY@/$nginx_priority}
	conf=${conf//@STREAMS_PER_ADDRESS@/$streams_per_address}
	conf=${conf//@PREFIX@/$run}
	conf=${conf//@PORT@/$port}
	conf=${conf//@ROOT@/$root}
	conf=${conf//@USER@/$(id -un) $(id -gn)}
	conf=${conf//@UPSTREAM_SERVERS@/$servers}
	conf=${conf//@REAL_IP@/$real_ip}
	# One more server inside the http block (the template's last brace):
	# /metrics for Prometheus on the internal port.
	[[ $conf == *"}" ]] || die "$template does not end with the http block's brace"
	conf=${conf%\}}
	cat >"$run/nginx.conf" <<-CONF
	$conf
	    $redis
	    # Added by brainstorm-web-entrypoint: the workers' /metrics for
	    # Prometheus, from the private network only, on a port that is
	    # never published.
	    server {
	        listen $metrics_port;
	        server_name _;
	        access_log off;
	        location = /metrics {
	            $allow
	            deny all;
	            fastcgi_param QUERY_STRING      \$query_string;
	            fastcgi_param REQUEST_METHOD    \$request_method;
	            fastcgi_param CONTENT_TYPE      \$content_type;
	            fastcgi_param CONTENT_LENGTH    \$content_length;
	            fastcgi_param SCRIPT_NAME       \$fastcgi_script_name;
	            fastcgi_param REQUEST_URI       \$request_uri;
	            fastcgi_param DOCUMENT_URI      \$document_uri;
	            fastcgi_param SERVER_PROTOCOL   \$server_protocol;
	            fastcgi_param GATEWAY_INTERFACE CGI/1.1;
	            fastcgi_param SERVER_SOFTWARE   nginx;
	            fastcgi_param REMOTE_ADDR       \$remote_addr;
	            fastcgi_param REMOTE_PORT       \$remote_port;
	            fastcgi_param SERVER_ADDR       \$server_addr;
	            fastcgi_param SERVER_PORT       \$server_port;
	            fastcgi_param SERVER_NAME       \$server_name;
	            fastcgi_param HTTP_HOST         \$host;
	            fastcgi_param HTTP_X_REQUEST_ID \$request_id;
	            fastcgi_param HTTP_PROXY        "";
	            fastcgi_pass brainstorm_workers;
	        }
	        location / {
	            return 404;
	        }
	    }
	}
	CONF
}

mkdir -p "$run/logs" "$run/tmp"
# Logs to the container's output (the template names files).
ln -sfn /dev/stdout "$run/logs/access.log"
ln -sfn /dev/stderr "$run/logs/error.log"
render

if [ "${1:-}" = nginx ]; then
	shift
	exec nginx -c "$run/nginx.conf" -p "$run" -e stderr -g 'daemon off;' "$@"
fi
exec "$@"
