package xmldsig

import "testing"

func BenchmarkZZScan(b *testing.B) {
	key, cert := testCert(b)
	doc, _ := Sign([]byte(sr16), key, cert, SignOptions{IncludeCertificate: true})
	b.ReportAllocs()
	for b.Loop() {
		scan(doc, DefaultLimits(), false)
	}
}
