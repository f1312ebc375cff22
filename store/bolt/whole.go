package bolt

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"io"
	"os"

	"github.com/smki/smki/store"
)

// bbolt's file header: two meta pages (page 0 and page 1), each a 16-byte
// page header and then the meta: magic, version, page size, flags (4
// bytes each), the root bucket (16), the freelist page (8), the number of
// pages in use (8, "pgid"), the transaction id (8) and an FNV-64a
// checksum of the 56 bytes before it. bbolt writes them in the machine's
// byte order; smki's targets are little-endian.
const (
	boltMagic      = 0xED0CDAED
	metaOffset     = 16
	metaPgidAt     = 40
	metaTxidAt     = 48
	metaChecksumAt = 56
)

// checkWhole refuses a bbolt file shorter than its own header says (a copy
// cut short, a backup truncated in transit), with store.ErrCorrupt: opened,
// bbolt would read its missing pages through the memory map and the
// process would die of SIGBUS. A file without a valid meta page is left to
// bbolt, which refuses it with its own error; a missing or empty one is
// created or initialised by bbolt as before.
func checkWhole(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return nil // bbolt.Open reports it (OpenError)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || fi.Size() == 0 {
		return nil
	}
	size := fi.Size()
	var best struct {
		ok         bool
		txid, need uint64
	}
	pageSize := int64(0)
	for i := range 2 {
		off := int64(0)
		if i == 1 {
			if pageSize == 0 {
				break // page 1's place is known from page 0's page size
			}
			off = pageSize
		}
		var b [metaOffset + metaChecksumAt + 8]byte
		if _, err := f.ReadAt(b[:], off); err != nil && err != io.EOF {
			return nil
		}
		m := b[metaOffset:]
		h := fnv.New64a()
		h.Write(m[:metaChecksumAt])
		if binary.LittleEndian.Uint32(m[0:]) != boltMagic || h.Sum64() != binary.LittleEndian.Uint64(m[metaChecksumAt:]) {
			continue
		}
		ps := int64(binary.LittleEndian.Uint32(m[8:]))
		if i == 0 {
			pageSize = ps
		}
		txid := binary.LittleEndian.Uint64(m[metaTxidAt:])
		need := binary.LittleEndian.Uint64(m[metaPgidAt:]) * uint64(ps)
		if !best.ok || txid > best.txid {
			best.ok, best.txid, best.need = true, txid, need
		}
	}
	if best.ok && uint64(size) < best.need {
		return fmt.Errorf("%w: the file is %d bytes, and its own header says %d: it was cut short (an incomplete copy?); use a whole backup (smki store verify FILE checks one)",
			store.ErrCorrupt, size, best.need)
	}
	return nil
}
