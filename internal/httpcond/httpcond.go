// Package httpcond owns the comparison of a conditional request's
// If-None-Match with an answer's ETag, for every smki handler that
// answers 304 (the repository, OCSP).
package httpcond

import "strings"

// NoneMatch reports whether an If-None-Match header value names etag, so
// that a GET or HEAD is answered 304 (RFC 9110 13.1.2): "*", or a
// comma-separated list of tags compared weakly (W/"x" matches "x"). An
// empty header names nothing.
func NoneMatch(ifNoneMatch, etag string) bool {
	if ifNoneMatch == "" || etag == "" {
		return false
	}
	etag = strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(ifNoneMatch, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == etag {
			return true
		}
	}
	return false
}
