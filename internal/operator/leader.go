package operator

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
)

// leaseName is the Lease replicas of one environment's operator share.
func leaseName(env string) string { return "envop-" + env }

// whileLeading runs fn once this replica holds the environment's Lease, so
// a second replica waits instead of fighting; fn's context ends when the
// lease is lost, and Run returns then.
func whileLeading(ctx context.Context, client kubernetes.Interface, opts Options, fn func(context.Context) error) error {
	// A random suffix keeps two replicas apart even in one process or Pod.
	id := os.Getenv("POD_NAME")
	if id == "" {
		id, _ = os.Hostname()
	}
	id = fmt.Sprintf("%s-%s", id, rand.Text()[:8])
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metaFor(leaseName(opts.Environment), opts.Namespace),
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: id},
	}
	errc := make(chan error, 1)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	le, err := leaderelection.NewLeaderElector(leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				opts.Log.Info("leading", "lease", leaseName(opts.Environment), "identity", id)
				errc <- fn(ctx)
				cancel()
			},
			OnStoppedLeading: func() { opts.Log.Info("leadership ended", "identity", id) },
		},
	})
	if err != nil {
		return fmt.Errorf("leader election: %w", err)
	}
	opts.Log.Info("waiting for leadership", "lease", leaseName(opts.Environment), "identity", id)
	le.Run(ctx)
	select {
	case err := <-errc:
		return err
	default:
		return ctx.Err()
	}
}

func metaFor(name, namespace string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace}
}
