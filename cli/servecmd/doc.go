// Package servecmd holds smki serve: it reads the server's settings
// (flag, environment variable, YAML config file, default: one table,
// serveSettings, that docs/operations.md is generated from), prints the
// effective configuration, and hands a typed server.Config to package
// server, which assembles and runs the server. It owns no endpoint.
package servecmd
