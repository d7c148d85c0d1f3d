package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/envop/envop/internal/version"
)

// Metrics are the operator's collectors.
type Metrics struct {
	Registry *prometheus.Registry

	Syncs        *prometheus.CounterVec
	SyncDuration *prometheus.HistogramVec
	Objects      *prometheus.CounterVec
	Deploys      *prometheus.CounterVec
	Revision     *prometheus.GaugeVec
	LastSync     prometheus.Gauge
	CertReloads  *prometheus.CounterVec
	SyncPhases   *prometheus.HistogramVec
	Startup      *prometheus.GaugeVec
}

// New registers every collector, plus the Go and process collectors.
func New() *Metrics {
	m := &Metrics{
		Registry: prometheus.NewRegistry(),
		Syncs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envop_syncs_total", Help: "Syncs of the environment by result (success, invalid, failed).",
		}, []string{"result"}),
		SyncDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "envop_sync_duration_seconds", Help: "Duration of syncs by result.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 14),
		}, []string{"result"}),
		Objects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envop_objects_applied_total", Help: "Objects handled by syncs by action (created, configured, unchanged, pruned, skipped, failed).",
		}, []string{"action"}),
		Deploys: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envop_deploys_total", Help: "Deploys that ended, by result (succeeded, failed).",
		}, []string{"result"}),
		Revision: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "envop_last_synced_revision_info", Help: "The git revision last applied (value 1).",
		}, []string{"revision"}),
		LastSync: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "envop_last_sync_timestamp_seconds", Help: "Unix time of the last successful sync.",
		}),
		CertReloads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "envop_serving_certificate_reloads_total", Help: "Loads of changed serving certificate files by result (success, failed).",
		}, []string{"result"}),
		SyncPhases: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "envop_sync_phase_duration_seconds", Help: "Duration of each phase of a sync (load, takeover, state, vault, apply, prune, evaluate).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 17),
		}, []string{"phase"}),
		Startup: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "envop_startup_step_seconds", Help: "How long each step of the operator's start took (state, informers, audit, drift watch); the first three run at once.",
		}, []string{"step"}),
	}
	info := version.Get()
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "envop_build_info", Help: "The running binary's version, commit and Go version (value 1).",
	}, []string{"version", "commit", "go_version"})
	buildInfo.WithLabelValues(info.Version, info.Commit, info.GoVersion).Set(1)
	m.Registry.MustRegister(m.Syncs, m.SyncDuration, m.SyncPhases, m.Startup, m.Objects, m.Deploys, m.Revision, m.LastSync, m.CertReloads, buildInfo,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// ObserveSync counts one sync and its duration.
func (m *Metrics) ObserveSync(result string, d time.Duration) {
	m.Syncs.WithLabelValues(result).Inc()
	m.SyncDuration.WithLabelValues(result).Observe(d.Seconds())
}

// ObservePhase records how long one phase of a sync took.
func (m *Metrics) ObservePhase(phase string, d time.Duration) {
	m.SyncPhases.WithLabelValues(phase).Observe(d.Seconds())
}

// StartupStep records how long one step of the operator's start took.
func (m *Metrics) StartupStep(step string, d time.Duration) {
	m.Startup.WithLabelValues(step).Set(d.Seconds())
}

// SetRevision records the revision last applied, dropping the previous one.
func (m *Metrics) SetRevision(rev string) {
	m.Revision.Reset()
	m.Revision.WithLabelValues(rev).Set(1)
	m.LastSync.SetToCurrentTime()
}

// serviceStatuses are the health statuses envop_services always reports,
// zero included.
var serviceStatuses = []string{"green", "orange", "red"}

// servicesDesc describes envop_services.
var servicesDesc = prometheus.NewDesc("envop_services", "Services by health status (green, orange, red).", []string{"status"}, nil)

// servicesCollector computes envop_services at each scrape, from the same
// view GET /status answers with: nothing has to keep a gauge up to date.
type servicesCollector struct{ count func() map[string]int }

func (c servicesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- servicesDesc }

func (c servicesCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.count()
	for _, s := range serviceStatuses {
		ch <- prometheus.MustNewConstMetric(servicesDesc, prometheus.GaugeValue, float64(counts[s]), s)
	}
}

// CountServices reports, at each scrape, how many services are in each
// health status as count gives them.
func (m *Metrics) CountServices(count func() map[string]int) {
	m.Registry.MustRegister(servicesCollector{count: count})
}

// CountTokenFileProblems reports, at each scrape, how many lines of the API
// token file are ignored (1 when the whole file cannot be read).
func (m *Metrics) CountTokenFileProblems(count func() int) {
	m.Registry.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "envop_token_file_problems", Help: "Lines of the API token file ignored as invalid (1 when the file cannot be read).",
	}, func() float64 { return float64(count()) }))
}

// CertReloaded counts one load of changed serving certificate files.
func (m *Metrics) CertReloaded(err error) {
	result := "success"
	if err != nil {
		result = "failed"
	}
	m.CertReloads.WithLabelValues(result).Inc()
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
