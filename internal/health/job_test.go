package health

import (
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func TestEvaluateJob(t *testing.T) {
	running := func(j *batchv1.Job) *batchv1.Job { j.Status.Active = 1; return j }
	tests := []struct {
		name           string
		job            *batchv1.Job
		pods           func(*batchv1.Job) []*corev1.Pod
		status         Status
		reason, substr string
		replicas       Replicas
	}{
		{"running", running(job("1.0.0")), func(j *batchv1.Job) []*corev1.Pod { return []*corev1.Pod{jobPod(j)} },
			Orange, ReasonProgressing, "1 active, 0 of 1 completions succeeded", Replicas{1, 1, 0, 0}},
		{"succeeded", func() *batchv1.Job {
			j := withCondition(job("1.0.0"), batchv1.JobSuccessCriteriaMet, "CompletionsReached", "")
			j = withCondition(j, batchv1.JobComplete, "CompletionsReached", "")
			j.Status.Succeeded = 1
			return j
		}(), nil, Green, "", "", Replicas{1, 1, 0, 1}},
		{"success criteria met, pod not counted yet", func() *batchv1.Job {
			j := withCondition(job("1.0.0"), batchv1.JobSuccessCriteriaMet, "CompletionsReached", "")
			j.Status.UncountedTerminatedPods = &batchv1.UncountedTerminatedPods{Succeeded: []types.UID{"p1"}}
			return j
		}(), nil, Green, "", "", Replicas{1, 1, 0, 1}},
		{"failed", withCondition(job("1.0.0"), batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"),
			nil, Red, "BackoffLimitExceeded", "the job failed: Job has reached the specified backoff limit", Replicas{Desired: 1}},
		{"failure is certain", withCondition(running(job("1.0.0")), batchv1.JobFailureTarget, "DeadlineExceeded", "Job was active longer than specified deadline"),
			nil, Red, "DeadlineExceeded", "longer than specified deadline", Replicas{1, 1, 0, 0}},
		{"pod in a crash loop", running(job("1.0.0")), func(j *batchv1.Job) []*corev1.Pod {
			return []*corev1.Pod{jobPod(j, waiting("CrashLoopBackOff", "", 2))}
		}, Red, ReasonCrashLoopBackOff, `container "app" is in CrashLoopBackOff (restarted 2 times)`, Replicas{1, 1, 0, 0}},
		{"image cannot be pulled", running(job("1.0.0")), func(j *batchv1.Job) []*corev1.Pod {
			return []*corev1.Pod{jobPod(j, waiting("ErrImagePull", "not found", 0))}
		}, Red, ReasonErrImagePull, "not found", Replicas{1, 1, 0, 0}},
		{"retrying failed pods", func() *batchv1.Job {
			j := running(job("1.0.0"))
			j.Status.Failed = 2
			return j
		}(), nil, Orange, ReasonProgressing, "2 failed pods retried (backoff limit 6)", Replicas{1, 1, 0, 0}},
		{"suspended", func() *batchv1.Job {
			j := job("1.0.0")
			j.Spec.Suspend = ref(true)
			return j
		}(), nil, Orange, ReasonSuspended, "", Replicas{Desired: 1}},
		{"pod without any status", running(job("1.0.0")), func(j *batchv1.Job) []*corev1.Pod {
			p := jobPod(j)
			p.Status = corev1.PodStatus{}
			return []*corev1.Pod{p}
		}, Orange, ReasonProgressing, "", Replicas{1, 1, 0, 0}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var pods []*corev1.Pod
			if tc.pods != nil {
				pods = tc.pods(tc.job)
			}
			w := EvaluateJob(tc.job, pods)
			if w.Status != tc.status || w.Reason != tc.reason || !strings.Contains(w.Message, tc.substr) {
				t.Errorf("got %s %q %q, want %s %q with %q", w.Status, w.Reason, w.Message, tc.status, tc.reason, tc.substr)
			}
			if w.Replicas != tc.replicas {
				t.Errorf("replicas = %+v, want %+v", w.Replicas, tc.replicas)
			}
			if w.Kind != KindJob || w.Name != "migrate" || w.Service != "migrate" || w.Version != "1.0.0" {
				t.Errorf("identity = %s %s/%s %s", w.Kind, w.Service, w.Name, w.Version)
			}
		})
	}
}

func cronJob(status batchv1.CronJobStatus) *batchv1.CronJob {
	tpl := template("report", "0.9.1")
	return &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Name: "report", UID: "cj-uid", Generation: 1, Labels: labelsOf("report", "report", "0.9.1")},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", JobTemplate: batchv1.JobTemplateSpec{
			Spec: batchv1.JobSpec{Template: tpl},
		}},
		Status: status,
	}
}

func TestEvaluateCronJob(t *testing.T) {
	at := func(h int) *metav1.Time { return ref(metav1.NewTime(epoch.Add(time.Duration(h) * time.Hour))) }
	older := job("0.9.0")
	newer := func() *batchv1.Job {
		j := job("0.9.1")
		j.CreationTimestamp = metav1.NewTime(epoch.Add(time.Hour))
		return j
	}
	tests := []struct {
		name           string
		c              *batchv1.CronJob
		jobs           []*batchv1.Job
		status         Status
		reason, substr string
	}{
		{"never ran", cronJob(batchv1.CronJobStatus{}), nil, Green, "", ""},
		{"last run succeeded", cronJob(batchv1.CronJobStatus{LastScheduleTime: at(1), LastSuccessfulTime: at(2)}), nil, Green, "", ""},
		{"running", cronJob(batchv1.CronJobStatus{LastScheduleTime: at(1), Active: []corev1.ObjectReference{{Name: "report-1"}}}), nil, Green, "", ""},
		{"last run failed, known from the status", cronJob(batchv1.CronJobStatus{LastScheduleTime: at(3), LastSuccessfulTime: at(1)}), nil,
			Red, ReasonLastRunFailed, "the run scheduled at 2026-01-02T06:04:05Z did not succeed (last success: 2026-01-02T04:04:05Z)"},
		{"never succeeded", cronJob(batchv1.CronJobStatus{LastScheduleTime: at(3)}), nil, Red, ReasonLastRunFailed, "last success: never"},
		{"last job failed", cronJob(batchv1.CronJobStatus{LastScheduleTime: at(3)}),
			[]*batchv1.Job{older, withCondition(newer(), batchv1.JobFailed, "BackoffLimitExceeded", "Job has reached the specified backoff limit")},
			Red, "BackoffLimitExceeded", "the last run (job migrate-0.9.1) failed: Job has reached"},
		{"an earlier job failed, the last succeeded", cronJob(batchv1.CronJobStatus{}),
			[]*batchv1.Job{withCondition(job("0.9.0"), batchv1.JobFailed, "BackoffLimitExceeded", ""), withCondition(newer(), batchv1.JobComplete, "", "")},
			Green, "", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := EvaluateCronJob(tc.c, tc.jobs)
			if w.Status != tc.status || w.Reason != tc.reason || !strings.Contains(w.Message, tc.substr) {
				t.Errorf("got %s %q %q, want %s %q with %q", w.Status, w.Reason, w.Message, tc.status, tc.reason, tc.substr)
			}
			if w.Kind != KindCronJob || w.Name != "report" || w.Version != "0.9.1" {
				t.Errorf("identity = %s %s %s", w.Kind, w.Name, w.Version)
			}
		})
	}
}
