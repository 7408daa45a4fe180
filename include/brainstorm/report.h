/*
 * Error reports: every 5xx answer and every crash, sent to a
 * Sentry-compatible endpoint (SENTRY_DSN) as an envelope. Events carry
 * the request id, the route pattern, the method, the status, the
 * release, the environment and the server name; never a header, a
 * query string, a body, a token or a password.
 *
 * Request threads only queue a small fixed-size event (no allocation,
 * no network); one background thread builds and sends the envelopes.
 * A fatal signal writes a crash file (async-signal-safe) that the next
 * start sends and then deletes.
 */
#ifndef BRAINSTORM_REPORT_H
#define BRAINSTORM_REPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "brainstorm/buf.h"
#include "brainstorm/config.h"
#include "brainstorm/err.h"
#include "brainstorm/http.h"

#define REPORT_DSN_MAX		1024	/* longest SENTRY_DSN accepted */
#define REPORT_EVENT_ID_LEN	33	/* 32 lowercase hex digits and NUL */
#define REPORT_ENVELOPE_MAX	(16 * 1024)
#define REPORT_PER_MINUTE	30	/* events queued per minute at most */
#define REPORT_SAME_PER_MINUTE	5	/* of one method, route and status */

/* SENTRY_DSN taken apart: {scheme}://{public_key}[:{secret}]@{host}{path}/{project_id} */
struct report_dsn {
	char	scheme[8];		/* http or https */
	char	public_key[128];
	char	secret_key[128];	/* the deprecated form; "" without */
	char	host[256];		/* host[:port] */
	char	path[256];		/* "" or "/prefix", before the project */
	char	project_id[64];
};

/*
 * Parse a DSN. On failure err says what is wrong without repeating the
 * DSN (it may hold a secret).
 */
bs_err	report_dsn_parse(const char *text, struct report_dsn *out, char *err,
	    size_t errlen);
/* {scheme}://{host}{path}/api/{project_id}/envelope/ */
bs_err	report_dsn_envelope_url(const struct report_dsn *dsn, char *out,
	    size_t outlen);
/* The X-Sentry-Auth value: "Sentry sentry_version=7, sentry_client=..., sentry_key=..." */
bs_err	report_dsn_auth(const struct report_dsn *dsn, const char *client,
	    char *out, size_t outlen);

enum report_kind {
	REPORT_HTTP_5XX = 0,
	REPORT_CRASH
};

/* Where a fatal signal came from. */
enum report_origin {
	REPORT_ORIGIN_FAULT = 0,	/* the kernel: a bad access, a bad instruction */
	REPORT_ORIGIN_SELF,		/* the process itself: abort(), raise() */
	REPORT_ORIGIN_KILL		/* another process: kill(1) */
};

/*
 * One event. Fixed-size, so that queueing it allocates nothing; every
 * string is ours (route patterns, method labels, validated ids), never
 * bytes a client sent.
 */
struct report_event {
	enum report_kind kind;
	char		 event_id[REPORT_EVENT_ID_LEN];
	long long	 time_ms;		/* wall clock, milliseconds */
	/* REPORT_HTTP_5XX */
	char		 request_id[HTTP_REQUEST_ID_LEN];
	char		 method[16];
	char		 route[128];		/* the pattern, "/api/projects/{id}" */
	int		 status;
	/* REPORT_CRASH */
	int		 signal;
	enum report_origin origin;
	char		 fault_addr[24];	/* "0x..." or "" */
	/* Who; a crash carries those of the process that crashed. */
	char		 release[128];
	char		 environment[64];
	char		 server_name[128];
};

/* A fresh random event id (UUID v4 as 32 hex digits). */
void	report_event_id_new(char out[REPORT_EVENT_ID_LEN]);

/*
 * The envelope of one event: the envelope header line (event_id, dsn
 * without any secret key, sent_at, sdk), the item header line (type
 * "event", length) and the event. Appends to out, whose cap bounds it.
 */
bs_err	report_envelope_build(const struct report_dsn *dsn,
	    const struct report_event *ev, long long sent_at_ms, struct buf *out);

/*
 * The flood guard: at most REPORT_PER_MINUTE events a minute, and at most
 * REPORT_SAME_PER_MINUTE of one kind, method, route and status. A pure
 * decision over its own state; report_http_error holds it under a lock.
 */
#define REPORT_LIMIT_SIGNATURES	32
struct report_limiter {
	long long	 window_start_ms;	/* monotonic */
	int		 total;
	size_t		 nsig;
	struct {
		enum report_kind kind;
		char		 method[16];
		char		 route[128];
		int		 status;
		int		 count;
	}		 sig[REPORT_LIMIT_SIGNATURES];
};
/* True when ev may go out now (and counts it). */
bool	report_limiter_admit(struct report_limiter *l,
	    const struct report_event *ev, long long now_ms);

/*
 * A crash file as the signal handler writes it ("brainstorm-crash 1",
 * then key=value lines). Parsed into ev (kind REPORT_CRASH, no event id
 * yet); BS_ERR_INVALID for anything else.
 */
#define REPORT_CRASH_FILE_MAX	4096
bs_err	report_crash_parse(const char *text, size_t len,
	    struct report_event *ev);

/*
 * Install the handlers of SIGSEGV, SIGBUS, SIGILL, SIGFPE and SIGABRT:
 * each writes a crash file into dir, then dies of the signal with the
 * default action (a core dump where enabled). release, environment and
 * server_name go into the file now, so the handler only writes.
 */
bs_err	report_crash_handlers_install(const char *dir, const char *release,
	    const char *environment, const char *server_name, char *err,
	    size_t errlen);

/*
 * Start reporting as cfg says (SENTRY_DSN empty: nothing happens, BS_OK).
 * Starts the sender thread, which first sends the crash files an
 * earlier run left; installs the crash handlers when SENTRY_CRASH_DIR is
 * usable. Call after curl_global_init and log_open, before the request
 * threads. A problem is in err; reporting stays off, the worker serves.
 */
bs_err	report_start(const struct bs_config *cfg, char *err, size_t errlen);
/* Send what is queued (for a second or two at most) and end the thread. */
void	report_stop(void);
/*
 * Queue a report of a 5xx answer; never blocks on the network. method is
 * a method label, route the route pattern. Dropped (and counted) when
 * reporting is off, the flood guard says no or the queue is full.
 */
void	report_http_error(const char *request_id, const char *method,
	    const char *route, int status);

/* SENTRY_* checks for config_validate; the problem text in err. */
bs_err	report_config_check(const struct bs_config *cfg, char *err,
	    size_t errlen);

#endif
