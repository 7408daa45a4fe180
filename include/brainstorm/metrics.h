/* Process-wide Prometheus metrics; every function is safe from any thread. */
#ifndef BRAINSTORM_METRICS_H
#define BRAINSTORM_METRICS_H

#include "brainstorm/buf.h"
#include "brainstorm/err.h"

struct db_pool;

void	metrics_init(void);
void	metrics_http_observe(const char *method, const char *route, int status,
	    double seconds);
void	metrics_db_observe(double seconds);
/* Render the text exposition format (version 0.0.4). */
bs_err	metrics_render(struct buf *out, struct db_pool *pool);

#endif
