package buildinfo

import "github.com/prometheus/client_golang/prometheus"

// Register registers smki_build_info{version,revision,go_version} 1 on
// reg, the usual Prometheus idiom for joining a build to other series:
// smki serve's and the verifier sidecar's /metrics both carry it.
func Register(reg prometheus.Registerer) error {
	in := Read()
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "smki_build_info",
		Help: "The running smki build: always 1, labelled with its version, VCS revision and Go version."},
		[]string{"version", "revision", "go_version"})
	g.WithLabelValues(in.Version, in.Revision, in.GoVersion).Set(1)
	return reg.Register(g)
}
