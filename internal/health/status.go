package health

import "time"

// Status is the health of a workload, a service or an environment.
type Status string

// The statuses, from best to worst.
const (
	Green  Status = "green"
	Orange Status = "orange"
	Red    Status = "red"
)

// Kinds of the workloads the package evaluates.
const (
	KindDeployment  = "Deployment"
	KindStatefulSet = "StatefulSet"
	KindJob         = "Job"
	KindCronJob     = "CronJob"
)

// Reasons a workload is red. The pod-level ones are the container waiting
// reasons the kubelet reports, kept verbatim so users can search for them.
const (
	ReasonCrashLoopBackOff           = "CrashLoopBackOff"
	ReasonImagePullBackOff           = "ImagePullBackOff"
	ReasonErrImagePull               = "ErrImagePull"
	ReasonOOMKilled                  = "OOMKilled"
	ReasonCreateContainerConfigError = "CreateContainerConfigError"
	ReasonUnschedulable              = "Unschedulable"
	ReasonProgressDeadlineExceeded   = "ProgressDeadlineExceeded"
	// ReasonLastRunFailed: a CronJob's last run did not succeed and the Job
	// that ran it is not in the cache to say why.
	ReasonLastRunFailed = "LastRunFailed"
)

// Reasons a workload is orange.
const (
	ReasonProgressing = "Progressing"
	ReasonPaused      = "Paused"
	ReasonSuspended   = "Suspended"
)

// Replicas counts a workload's pods. For Jobs, Desired is the number of
// completions, Updated the active and succeeded pods, Available the
// succeeded ones.
type Replicas struct {
	Desired, Updated, Ready, Available int32
}

// Workload is the health of one Deployment, StatefulSet, Job or CronJob.
type Workload struct {
	// Service is the app.kubernetes.io/name label; Name the
	// app.kubernetes.io/instance label (the Deployment's name, or
	// api-blue / api-green for a blue/green service, or the instance of a
	// Job whose object name carries its version).
	Service, Name, Kind string
	// Version is the app.kubernetes.io/version label of the pod template:
	// the version being rolled out, not necessarily the one running.
	Version string

	Status          Status
	Reason, Message string

	Replicas Replicas
	// Generation and ObservedGeneration of the object; Jobs and CronJobs
	// have no observed generation and report their generation for both.
	Generation, ObservedGeneration int64

	// Pods are the workload's current pods, sorted by name. Slices in a
	// Workload are shared with the Monitor's cache: read them, never modify.
	Pods []Pod
}

// Pod summarises one pod for people: why it is not running, if it is not.
type Pod struct {
	Name, Phase     string
	Ready           bool
	Restarts        int32
	Reason, Message string
	StartedAt       *time.Time
	Containers      []string
}

// rank orders statuses so the worst wins; an unknown status counts as
// orange, never as healthy.
func (s Status) rank() int {
	switch s {
	case Green:
		return 0
	case Red:
		return 2
	default:
		return 1
	}
}

// Worst returns the worst of statuses: red over orange over green. With no
// status at all there is nothing unhealthy: green.
func Worst(statuses ...Status) Status {
	worst := 0
	for _, s := range statuses {
		worst = max(worst, s.rank())
	}
	return [...]Status{Green, Orange, Red}[worst]
}

// Aggregate is the status of a set of workloads, worst wins: pass one
// service's workloads for the service's status, or every workload for the
// environment's.
func Aggregate(ws []Workload) Status {
	w, ok := WorstWorkload(ws)
	if !ok {
		return Green
	}
	return Worst(w.Status)
}

// WorstWorkload returns the first workload with the worst status, whose
// Reason and Message explain an aggregate; false when ws is empty.
func WorstWorkload(ws []Workload) (Workload, bool) {
	if len(ws) == 0 {
		return Workload{}, false
	}
	worst := 0
	for i := range ws {
		if ws[i].Status.rank() > ws[worst].Status.rank() {
			worst = i
		}
	}
	return ws[worst], true
}

// ByService aggregates workloads per service (their Service field).
func ByService(ws []Workload) map[string]Status {
	out := make(map[string]Status)
	for _, w := range ws {
		prev, ok := out[w.Service]
		if !ok {
			prev = Green
		}
		out[w.Service] = Worst(prev, w.Status)
	}
	return out
}
