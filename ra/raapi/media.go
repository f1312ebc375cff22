package raapi

// MediaNDJSON is the media type of a revocation answer with progress
// (POST /v1/revoke with Accept: application/x-ndjson): one JSON object a
// line, zero or more {"progress":{"done","total"}} lines, then exactly one
// {"result":RevokeResult} or {"error":{"code","message"}} line.
const MediaNDJSON = "application/x-ndjson"

// MediaCSV is the media type of a device file sent as is to
// POST /v1/devices (the JSON form {"csv": "..."} is accepted too).
const MediaCSV = "text/csv"

// RevokeProgress is one progress line: done of total serials are marked
// revoked, not yet committed. If the store retries the transaction, done
// starts again from zero.
type RevokeProgress struct {
	Done  int `json:"done"`
	Total int `json:"total"`
}

// RevokeLine is one line of a MediaNDJSON answer; exactly one member is set.
// Error has the shape of ErrorBody's so that an error line is an error body.
type RevokeLine struct {
	Progress *RevokeProgress `json:"progress,omitempty"`
	Result   *RevokeResult   `json:"result,omitempty"`
	Error    *struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error,omitempty"`
}
