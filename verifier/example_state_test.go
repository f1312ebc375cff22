package verifier_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/smki/smki/verifier"
)

// Keep what the verifier accepted across restarts: a StateFile given as
// Options.Replay makes each accept durable before Verify returns it, and
// a Verifier built on the reopened file refuses the request again. Opening
// fails closed with a coded error, and the file is left as it is, when
// the log is damaged (ErrStateDamaged) or older than the one last written
// at that path (ErrStateRollback): the error says what to do, and
// StateFileOptions.Recover is the operator's way past it.
func ExampleOpenStateFile() {
	dir, _ := os.MkdirTemp("", "smki-state-")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "state.log")
	signed, err := os.ReadFile(examples + "sr1.6-accepted.xml")
	if err != nil {
		fmt.Println(err)
		return
	}
	for run := 1; run <= 2; run++ {
		st, err := verifier.OpenStateFile(path, verifier.StateFileOptions{})
		switch {
		case errors.Is(err, verifier.ErrStateDamaged), errors.Is(err, verifier.ErrStateRollback):
			fmt.Println("refusing to start:", err) // an operator decides (Recover)
			return
		case err != nil:
			fmt.Println(err)
			return
		}
		v := exampleVerifier(func(o *verifier.Options) { o.Replay = st })
		d := v.Verify(signed, exampleAt)
		if d.Accepted() {
			fmt.Printf("run %d: accept, route to %s\n", run, d.Route)
		} else {
			fmt.Printf("run %d: reject %s\n", run, d.Code)
		}
		if err := st.Close(); err != nil {
			fmt.Println(err)
		}
	}
	// A backup of the file restored over it would now be refused
	// E_STATE_ROLLBACK (docs/verifier.md, "The state file").

	// Output:
	// run 1: accept, route to 00-DB-12-34-56-78-90-A0
	// run 2: reject REPLAY
}
