package manifest

import (
	"net"
	"net/url"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"
)

// Thresholds behind the lint warnings; see docs/manifest.md for the reasons.
var (
	nodeMinCPU    = resource.MustParse("1")
	nodeMinMemory = resource.MustParse("1.75Gi")
	javaMinMemory = resource.MustParse("512Mi")
)

const (
	slowStartSeconds = 60
	highHPATarget    = 70
)

// Lint returns warnings: settings that are valid but known to hurt in
// production. They never block a file.
func Lint(f *File) Diagnostics {
	if f == nil {
		return nil
	}
	v := &checker{f: f}
	for i := range f.Environments {
		e := &f.Environments[i]
		for j := range e.Services {
			v.lintService(e, &e.Services[j])
		}
	}
	v.diags.Sort()
	return v.diags
}

func (v *checker) lintService(e *Environment, s *Service) {
	switch s.Runtime {
	case "nodejs":
		v.lintNode(s)
	case "java":
		v.lintJava(e, s)
	}
	v.lintSlowStart(s)
	v.lintExtended(e, s)
	v.lintDNS(e, s)
	if s.DatabaseType != "" {
		v.warnf(joinPath(s.Path, "database_type"), "is not supported and is ignored")
	}
	v.lintIgnored(e, s)
	v.lintTyped(e, s)
	v.lintIngressSwitches(s)
}

// lintIgnored warns about settings that another setting overrides, which
// the file's author most likely did not mean.
func (v *checker) lintIgnored(e *Environment, s *Service) {
	sp := joinPath(s.Path, "ssl")
	if !s.SSL && v.f.positions.has(sp) && (s.TLS != nil || s.TLSSecret != "") {
		v.warnf(sp, "is false, but tls or tls_secret is set: the Ingress gets TLS anyway")
	}
	if d := s.Deployment; d != nil && !s.IsBlueGreen(e) && !s.IsCustomResource() {
		for _, field := range []string{"active", "custom_urls"} {
			if fp := joinPath(d.Path, field); v.f.positions.has(fp) {
				v.warnf(fp, "applies to method bluegreen only and is ignored (the method is %s)", s.Method(e))
			}
		}
	}
}

// limitBelow reports whether the service's limit for a resource is set and
// below min; unset limits take the defaults, which are large enough.
func limitBelow(s *Service, name string, min resource.Quantity) bool {
	q, err := resource.ParseQuantity(s.Limits[name])
	return err == nil && s.Limits[name] != "" && q.Cmp(min) < 0
}

func (v *checker) lintNode(s *Service) {
	for name, min := range map[string]resource.Quantity{"cpu": nodeMinCPU, "memory": nodeMinMemory} {
		if limitBelow(s, name, min) {
			v.warnf(keyPath(joinPath(s.Path, "limits"), name),
				"Node.js sizes its heap and thread pool for at least 1 CPU and 1.75Gi; with a %s limit of %s it is likely to be throttled or OOM-killed", name, s.Limits[name])
		}
	}
}

func (v *checker) lintJava(e *Environment, s *Service) {
	if limitBelow(s, "memory", javaMinMemory) {
		v.warnf(keyPath(joinPath(s.Path, "limits"), "memory"),
			"a JVM needs off-heap memory beyond its heap; a memory limit of %s (under 512Mi) leaves no headroom", s.Limits["memory"])
		return
	}
	found := false
	for _, o := range javaOptions(e, s) {
		for _, f := range strings.Fields(o.text) {
			switch {
			case strings.HasPrefix(f, "-Xmx"):
				found = true
				v.lintHeap(s, o.path, f, heapShare(s, f[len("-Xmx"):]))
			case strings.HasPrefix(f, "-XX:MaxRAMPercentage="):
				found = true
				pct, err := strconv.ParseFloat(f[len("-XX:MaxRAMPercentage="):], 64)
				if err == nil {
					v.lintHeap(s, o.path, f, pct/100)
				}
			}
		}
	}
	if !found {
		v.warnf(joinPath(s.Path, "runtime"),
			"no -XX:MaxRAMPercentage or -Xmx in JAVA_TOOL_OPTIONS, JAVA_OPTS or the command: the JVM may size its heap to the whole limit and leave no off-heap headroom")
	}
}

// maxHeapShare is the largest share of the memory limit a heap may take
// and leave the JVM room for metaspace, threads and buffers.
const maxHeapShare = 0.8

func (v *checker) lintHeap(s *Service, path, flag string, share float64) {
	if share > maxHeapShare {
		limit := "the memory limit"
		if m := s.Limits["memory"]; m != "" {
			limit = "the " + m + " memory limit"
		}
		v.warnf(path, "%s gives the heap %.0f%% of %s: the JVM needs off-heap memory too; keep the heap at 75%% or less",
			flag, share*100, limit)
	}
}

// heapShare is the share of the service's memory limit an -Xmx size
// takes, 0 when either is unknown.
func heapShare(s *Service, size string) float64 {
	limit, err := resource.ParseQuantity(s.Limits["memory"])
	if err != nil || limit.Value() <= 0 || size == "" {
		return 0
	}
	mult := int64(1)
	switch size[len(size)-1] {
	case 'k', 'K':
		mult = 1 << 10
	case 'm', 'M':
		mult = 1 << 20
	case 'g', 'G':
		mult = 1 << 30
	case 't', 'T':
		mult = 1 << 40
	}
	if mult > 1 {
		size = size[:len(size)-1]
	}
	n, err := strconv.ParseInt(size, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return float64(n) * float64(mult) / float64(limit.Value())
}

// javaOption is JVM option text and the path it is written at.
type javaOption struct{ text, path string }

// javaOptions are the JVM options a service's pods get: JAVA_TOOL_OPTIONS
// and JAVA_OPTS from its env or its presets', and its command and args.
func javaOptions(e *Environment, s *Service) []javaOption {
	var out []javaOption
	envs := [][]EnvVar{s.Env}
	for _, p := range e.PresetsOf(s) {
		envs = append(envs, p.Env)
	}
	for _, list := range envs {
		for _, ev := range list {
			if ev.Name == "JAVA_TOOL_OPTIONS" || ev.Name == "JAVA_OPTS" {
				out = append(out, javaOption{ev.Value, joinPath(ev.Path, "value")})
			}
		}
	}
	if len(s.Command) > 0 {
		out = append(out, javaOption{strings.Join(s.Command, " "), joinPath(s.Path, "command")})
	}
	if len(s.Args) > 0 {
		out = append(out, javaOption{strings.Join(s.Args, " "), joinPath(s.Path, "args")})
	}
	return out
}

// startDelay is the longest initial delay any probe of the service waits.
func startDelay(s *Service) (int32, string) {
	var max int32
	var at string
	for _, p := range []*Probe{s.StartupProbe, s.LivenessProbe, s.ReadinessProbe} {
		if p == nil {
			continue
		}
		d := p.InitialDelaySeconds
		if p == s.StartupProbe {
			d += max32(p.FailureThreshold, 3) * max32(p.PeriodSeconds, 10)
		}
		if d > max {
			max, at = d, p.Path
		}
	}
	if h := s.HealthCheck; h != nil && h.InitialDelay > max {
		max, at = h.InitialDelay, joinPath(h.Path, "initial_delay")
	}
	return max, at
}

func max32(a, b int32) int32 {
	if a > 0 {
		return a
	}
	return b
}

func (v *checker) lintSlowStart(s *Service) {
	if s.HPA == nil {
		return
	}
	// An hpa without a metric scales on CPU at the default target.
	target, path, note := int32(DefaultHPATarget), s.HPA.Path, " (the default when hpa names no metric)"
	if m := s.HPA.Metric; m != nil {
		if m.TargetAverageUtilization == 0 {
			return
		}
		target, path, note = m.TargetAverageUtilization, m.UtilizationPath, ""
	}
	if target <= highHPATarget {
		return
	}
	if delay, at := startDelay(s); delay >= slowStartSeconds {
		v.warnf(path,
			"pods take %ds to start (%s) but scale out only above %d%%%s: new pods arrive too late under load; lower the target to %d or less",
			delay, at, target, note, highHPATarget)
	}
}

func (v *checker) lintExtended(e *Environment, s *Service) {
	if len(s.Tolerations) > 0 || len(e.Tolerations) > 0 {
		return
	}
	for _, field := range []string{"limits", "requests"} {
		m := s.Limits
		if field == "requests" {
			m = s.Requests
		}
		for _, name := range sortedKeys(m) {
			if IsExtendedResource(name) {
				v.warnf(keyPath(joinPath(s.Path, field), name),
					"%s is requested but the service has no tolerations: accelerator nodes are usually tainted, so the pods may never schedule", name)
				return
			}
		}
	}
}

func (v *checker) lintDNS(e *Environment, s *Service) {
	if (s.DNS != nil && s.DNS.Ndots != nil) || (e.DNS != nil && e.DNS.Ndots != nil) {
		return
	}
	for _, ev := range s.Env {
		if host := externalHost(ev.Value); host != "" {
			v.warnf(joinPath(ev.Path, "value"),
				"%q looks like an external host name; with the default ndots 5 each lookup first tries every cluster search domain; set dns: {ndots: 2} or end the name with a dot", host)
		}
	}
}

// externalHost returns the host name in an env value when it looks like a
// name outside the cluster: dotted, not an IP, not a cluster-local suffix,
// not already fully qualified with a trailing dot.
func externalHost(value string) string {
	host := value
	if strings.Contains(value, "://") {
		u, err := url.Parse(value)
		if err != nil {
			return ""
		}
		host = u.Hostname()
	} else if h, _, err := net.SplitHostPort(value); err == nil {
		host = h
	}
	if !strings.Contains(host, ".") || strings.HasSuffix(host, ".") || net.ParseIP(host) != nil {
		return ""
	}
	host = strings.ToLower(host)
	for _, suffix := range []string{".svc", ".cluster.local", ".local"} {
		if strings.HasSuffix(host, suffix) {
			return ""
		}
	}
	tld := host[strings.LastIndex(host, ".")+1:]
	if len(validation.IsDNS1123Subdomain(host)) > 0 || strings.Trim(tld, "abcdefghijklmnopqrstuvwxyz") != "" || len(tld) < 2 {
		return ""
	}
	return host
}
