/* Handlers, one file per resource (api_*.c); the table is in api_routes.c. */
#ifndef BRAINSTORM_API_H
#define BRAINSTORM_API_H

#include "brainstorm/http.h"

/* api_ops.c */
void	api_ops_health(struct http_ctx *ctx);
void	api_ops_ready(struct http_ctx *ctx);
void	api_ops_metrics(struct http_ctx *ctx);
void	api_ops_debug_sleep(struct http_ctx *ctx);
void	api_ops_debug_echo(struct http_ctx *ctx);

#endif
