/*
 * dashboard.h — serves the dashboard page from the assets compiled into the
 * binary: "/" is the page, "/dashboard/..." its script and style sheet.
 */
#ifndef SH_DASHBOARD_H
#define SH_DASHBOARD_H

struct http_server;

/* Adds the routes to s (before http_server_start). Returns 0 or an SH_E*
 * code from http_server_route. */
int dashboard_register(struct http_server *s);

#endif
