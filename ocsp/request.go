package ocsp

import (
	"net/http"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
	xocsp "golang.org/x/crypto/ocsp"
)

// oneRequest reports whether der is an OCSPRequest whose requestList holds
// exactly one Request (RFC 6960 4.1.1; RFC 5019 2.1.1: one Request per
// OCSPRequest):
//
//	OCSPRequest ::= SEQUENCE { tbsRequest TBSRequest, optionalSignature [0] EXPLICIT Signature OPTIONAL }
//	TBSRequest  ::= SEQUENCE { version [0] EXPLICIT Version DEFAULT v1,
//	                           requestorName [1] EXPLICIT GeneralName OPTIONAL,
//	                           requestList SEQUENCE OF Request, ... }
//
// x/crypto/ocsp.ParseRequest reads the first Request and ignores the
// others, so a request holding several would be answered for its first
// only; handler answers anything else malformedRequest before parsing.
// Only the outer structure is read here (the Request itself is
// x/crypto/ocsp's to parse), from input handler has already capped
// (maxRequestBody; a GET path at twice that).
func oneRequest(der []byte) bool {
	in := cryptobyte.String(der)
	var req, tbs, list cryptobyte.String
	if !in.ReadASN1(&req, cbasn1.SEQUENCE) || !in.Empty() || !req.ReadASN1(&tbs, cbasn1.SEQUENCE) {
		return false
	}
	if !tbs.SkipOptionalASN1(cbasn1.Tag(0).ContextSpecific().Constructed()) ||
		!tbs.SkipOptionalASN1(cbasn1.Tag(1).ContextSpecific().Constructed()) ||
		!tbs.ReadASN1(&list, cbasn1.SEQUENCE) {
		return false
	}
	return list.SkipASN1(cbasn1.SEQUENCE) && list.Empty()
}

// malformed answers malformedRequest with the headers cfssl's Responder
// sends it with, so that every malformed request gets the same answer
// whichever side refused it: HTTP code 400 (cfssl's), or 413 or 414 for a
// request over the size cap; the body is the OCSP answer whatever the
// code, so that an OCSP client reads why.
func malformed(w http.ResponseWriter, code int) {
	h := w.Header()
	h["Cache-Control"] = []string{"max-age=0, no-cache"}
	h["Content-Type"] = []string{"application/ocsp-response"}
	w.WriteHeader(code)
	w.Write(xocsp.MalformedRequestErrorResponse)
}
