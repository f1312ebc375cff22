package pgtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Backends records the PostgreSQL backends (server process IDs) a pool
// connects to, for the CPU time they use (CPU): a benchmark's figure for
// the database's share of its work when the server runs on the same
// machine. The zero value is ready to use.
type Backends struct {
	mu   sync.Mutex
	pids []uint32
}

// Watch makes c's pool record each new connection's backend (chaining
// any AfterConnect already set).
func (bs *Backends) Watch(c *pgxpool.Config) {
	after := c.AfterConnect
	c.AfterConnect = func(ctx context.Context, conn *pgx.Conn) error {
		bs.mu.Lock()
		bs.pids = append(bs.pids, conn.PgConn().PID())
		bs.mu.Unlock()
		if after != nil {
			return after(ctx, conn)
		}
		return nil
	}
}

// Reset forgets the backends recorded so far (of pools closed by now,
// whose process IDs are free for reuse).
func (bs *Backends) Reset() {
	bs.mu.Lock()
	bs.pids = nil
	bs.mu.Unlock()
}

// CPU is the CPU time (user and system) the recorded backends have used
// so far, read from /proc; ok is false if none is a PostgreSQL process
// of this machine. A backend that has exited counts nothing: take both
// readings while the pool is open.
func (bs *Backends) CPU() (cpu time.Duration, ok bool) {
	bs.mu.Lock()
	defer bs.mu.Unlock()
	for _, pid := range bs.pids {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil || !bytes.Contains(stat, []byte("(postgres)")) {
			continue
		}
		// Fields after the command's closing parenthesis: the state is
		// field 3, utime and stime are 14 and 15 (clock ticks).
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) < 13 {
			continue
		}
		u, err1 := strconv.ParseInt(f[11], 10, 64)
		s, err2 := strconv.ParseInt(f[12], 10, 64)
		if err1 != nil || err2 != nil {
			continue
		}
		cpu += time.Duration(u+s) * time.Second / clockTicks
		ok = true
	}
	return cpu, ok
}

// clockTicks is USER_HZ, the unit of /proc's CPU times (100 on Linux).
const clockTicks = 100
