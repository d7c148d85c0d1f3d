package render

import (
	"fmt"
	"strings"
	"testing"

	"github.com/envop/envop/internal/manifest"
)

// manifest500 is an environment of 500 services mixing the common shapes:
// plain, with an ingress and TLS, with an HPA, blue/green, with volumes.
func manifest500() []byte {
	var b strings.Builder
	b.WriteString("project: big\nenvironments:\n  - name: prod\n    namespace: big-prod\n    services:\n")
	for i := 0; i < 500; i++ {
		fmt.Fprintf(&b, "      - name: svc-%d\n        version: 1.%d.0\n        port: 8080\n", i, i)
		b.WriteString("        env:\n          - name: LOG_LEVEL\n            value: info\n          - name: DB_PASSWORD\n            secret: db\n            key: password\n")
		b.WriteString("        requests:\n          cpu: 200m\n          memory: 256Mi\n        limits:\n          memory: 512Mi\n")
		b.WriteString("        readiness_probe:\n          http_get:\n            path: /ready\n            port: 8080\n")
		switch i % 4 {
		case 0:
			fmt.Fprintf(&b, "        external_url: svc-%d.example.com\n        ssl: true\n", i)
		case 1:
			b.WriteString("        hpa:\n          min_replicas: 2\n          max_replicas: 10\n          metric:\n            name: cpu\n            target_average_utilization: 60\n")
		case 2:
			fmt.Fprintf(&b, "        external_url: svc-%d.example.com\n        deployment:\n          method: bluegreen\n", i)
		case 3:
			b.WriteString("        volumes:\n          - name: data-" + fmt.Sprint(i) + "\n            path: /data\n            size: 1Gi\n")
		}
	}
	return []byte(b.String())
}

// BenchmarkLoadValidateRender500 measures the whole path a sync takes:
// load, validate, lint and render of a 500-service environment.
func BenchmarkLoadValidateRender500(b *testing.B) {
	data := manifest500()
	b.ReportAllocs()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		f, diags := manifest.Load("big.bitesize", data)
		if diags.HasErrors() {
			b.Fatal(diags.Errors())
		}
		res, err := Render(&f.Environments[0], f.Project, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Objects) < 1500 {
			b.Fatalf("only %d objects", len(res.Objects))
		}
	}
}
