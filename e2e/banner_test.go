package e2e

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestServeBannerFollowsLogFormat: with --log-format json every line
// smki serve writes, on stdout or stderr, is a JSON object (a journal
// read by a log shipper expecting JSON holds nothing else), the start
// banner being one record "smki serving" with its addresses as keys;
// with --log-format text the human banner stays.
func TestServeBannerFollowsLogFormat(t *testing.T) {
	t.Parallel()
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			data := filepath.Join(t.TempDir(), "data")
			srv := startServer(t, exec.Command(smkiBin, "serve", "--dev", "--log-format", format), data)
			out, err := os.ReadFile(srv.log)
			if err != nil {
				t.Fatal(err)
			}
			if format == "text" {
				if !bytes.Contains(out, []byte("smki serving on https://"+srv.addr+"\n")) {
					t.Fatalf("text logs: no human banner:\n%s", out)
				}
				return
			}
			banner := false
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				var rec map[string]any
				if err := json.Unmarshal([]byte(line), &rec); err != nil {
					t.Fatalf("--log-format json: line %q is not JSON (%v); whole output:\n%s", line, err, out)
				}
				if rec["msg"] == "smki serving" {
					banner = rec["url"] == "https://"+srv.addr && rec["data"] != nil && rec["console"] != nil
				}
			}
			if !banner {
				t.Fatalf("--log-format json: no \"smki serving\" record with url https://%s, data and console:\n%s", srv.addr, out)
			}
		})
	}
}
