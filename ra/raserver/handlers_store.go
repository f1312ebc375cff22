package raserver

import (
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/smki/smki/ra"
)

// backupStore streams an online copy of the store (GET /v1/store/backup,
// ra-operators). The size is known before the first byte, so the answer
// carries Content-Length and a copy cut short is visible to the client;
// a failure after the headers aborts the connection instead of appending
// an error body to the file.
func (s *server) backupStore(w http.ResponseWriter, r *http.Request, a ra.Actor) error {
	started := false
	_, err := s.svc.BackupStore(r.Context(), a, func(size int64) (io.Writer, error) {
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
		w.Header().Set("Content-Disposition", `attachment; filename="smki.db"`)
		w.WriteHeader(http.StatusOK)
		started = true
		// A store copy may take longer than the server's write timeout:
		// each chunk gets its own deadline instead (issue 12 finding 5).
		return &chunkDeadlineWriter{w: w, rc: http.NewResponseController(w)}, nil
	})
	if err != nil && started {
		s.log.Error("store backup failed mid-stream; connection aborted", "err", err)
		panic(http.ErrAbortHandler)
	}
	return err
}

// chunkDeadlineWriter gives every write of a long answer longAnswerGrace
// from its start: a slow but moving reader finishes, a stalled one is cut.
type chunkDeadlineWriter struct {
	w  io.Writer
	rc *http.ResponseController
}

func (c *chunkDeadlineWriter) Write(p []byte) (int, error) {
	c.rc.SetWriteDeadline(time.Now().Add(longAnswerGrace))
	return c.w.Write(p)
}
