package render

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/manifest"
)

// workload renders the workload named instance (the service name, or a
// blue/green colour) and its autoscaler; without a version (an image
// reference without tag counts as none, unless a digest pins it) it is
// skipped.
func (r *renderer) workload(s *manifest.Service, instance, version string) error {
	if version == "" && !strings.Contains(s.Image, "@") {
		r.skip(s, instance, "no version: waiting for a deploy")
		return nil
	}
	tmpl, err := r.podTemplate(s, instance, version)
	if err != nil {
		return err
	}
	meta := metav1.ObjectMeta{Name: instance, Namespace: r.namespace, Labels: r.labels(s.Name, instance, version)}
	sel := &metav1.LabelSelector{MatchLabels: r.selector(s.Name, instance)}
	switch s.WorkloadKind() {
	case manifest.KindStatefulSet:
		return r.statefulSet(s, meta, sel, tmpl)
	case manifest.KindJob:
		meta.Name = JobName(instance, version)
		return r.add(&batchv1.Job{TypeMeta: typeMeta("batch/v1", "Job"), ObjectMeta: meta,
			Spec: batchv1.JobSpec{Template: tmpl}})
	case manifest.KindCronJob:
		return r.add(&batchv1.CronJob{TypeMeta: typeMeta("batch/v1", "CronJob"), ObjectMeta: meta,
			Spec: batchv1.CronJobSpec{Schedule: s.Schedule, JobTemplate: batchv1.JobTemplateSpec{
				Spec: batchv1.JobSpec{Template: tmpl}}}})
	}
	d := &appsv1.Deployment{TypeMeta: typeMeta("apps/v1", "Deployment"), ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{Replicas: replicas(s), Selector: sel, Template: tmpl}}
	if err := r.add(d); err != nil {
		return err
	}
	return r.hpa(s, "Deployment", instance, version)
}

func (r *renderer) statefulSet(s *manifest.Service, meta metav1.ObjectMeta, sel *metav1.LabelSelector, tmpl corev1.PodTemplateSpec) error {
	claims, err := r.claimTemplates(s)
	if err != nil {
		return err
	}
	ss := &appsv1.StatefulSet{TypeMeta: typeMeta("apps/v1", "StatefulSet"), ObjectMeta: meta,
		Spec: appsv1.StatefulSetSpec{Replicas: replicas(s), Selector: sel, Template: tmpl,
			ServiceName: headlessName(s.Name), VolumeClaimTemplates: claims}}
	if err := r.add(ss); err != nil {
		return err
	}
	return r.hpa(s, "StatefulSet", meta.Name, meta.Labels[LabelVersion])
}

// WorkloadObject is the kind and name of the object the workload instance
// of s (the service name, or a blue/green colour) renders to at version:
// a Job's name carries its version; a legacy custom resource is named
// after its service.
func WorkloadObject(s *manifest.Service, instance, version string) (kind, name string) {
	if s.IsCustomResource() {
		return CustomResourceKind(s).Kind, s.Name
	}
	switch s.WorkloadKind() {
	case manifest.KindStatefulSet:
		return "StatefulSet", instance
	case manifest.KindJob:
		return "Job", JobName(instance, version)
	case manifest.KindCronJob:
		return "CronJob", instance
	}
	return "Deployment", instance
}

// replicas is nil while an HPA owns the count, so applying the file never
// fights the autoscaler.
func replicas(s *manifest.Service) *int32 {
	if s.HPA != nil {
		return nil
	}
	if s.Replicas != nil {
		return s.Replicas
	}
	one := int32(1)
	return &one
}

// JobName gives each version its own Job: a Job's pod template cannot
// change, and a new version is meant to run once more. Long names are cut
// and suffixed with a hash so they stay unique and within 63 characters.
func JobName(name, version string) string {
	v := strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			return r
		case r >= 'A' && r <= 'Z':
			return r + 'a' - 'A'
		}
		return '-'
	}, version)
	full := strings.Trim(name+"-"+strings.Trim(v, "-"), "-")
	if len(full) <= 63 {
		return full
	}
	sum := sha256.Sum256([]byte(name + ":" + version))
	return strings.TrimRight(full[:52], "-") + "-" + hex.EncodeToString(sum[:])[:10]
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

func (r *renderer) hpa(s *manifest.Service, kind, target, version string) error {
	if s.HPA == nil {
		return nil
	}
	metric, err := metricSpec(s.HPA.Metric)
	if err != nil {
		return err
	}
	min := s.HPA.Min()
	h := &autoscalingv2.HorizontalPodAutoscaler{
		TypeMeta:   typeMeta("autoscaling/v2", "HorizontalPodAutoscaler"),
		ObjectMeta: metav1.ObjectMeta{Name: target, Namespace: r.namespace, Labels: r.labels(s.Name, target, version)},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: target},
			MinReplicas:    &min,
			MaxReplicas:    s.HPA.MaxReplicas,
			Metrics:        []autoscalingv2.MetricSpec{metric},
		},
	}
	return r.add(h)
}

func metricSpec(m *manifest.Metric) (autoscalingv2.MetricSpec, error) {
	if m == nil || (m.TargetAverageUtilization == 0 && m.TargetAverageValue == "") {
		m = &manifest.Metric{Name: "cpu", TargetAverageUtilization: manifest.DefaultHPATarget}
	}
	target := autoscalingv2.MetricTarget{}
	if m.TargetAverageUtilization != 0 {
		u := m.TargetAverageUtilization
		target.Type, target.AverageUtilization = autoscalingv2.UtilizationMetricType, &u
	} else {
		q, err := resource.ParseQuantity(m.TargetAverageValue)
		if err != nil {
			return autoscalingv2.MetricSpec{}, fmt.Errorf("hpa target_average_value: %w", err)
		}
		target.Type, target.AverageValue = autoscalingv2.AverageValueMetricType, &q
	}
	if manifest.ResourceMetric(m.Name) {
		return autoscalingv2.MetricSpec{Type: autoscalingv2.ResourceMetricSourceType,
			Resource: &autoscalingv2.ResourceMetricSource{Name: corev1.ResourceName(orDefault(m.Name, "cpu")), Target: target}}, nil
	}
	return autoscalingv2.MetricSpec{Type: autoscalingv2.PodsMetricSourceType,
		Pods: &autoscalingv2.PodsMetricSource{Metric: autoscalingv2.MetricIdentifier{Name: m.Name}, Target: target}}, nil
}

// PodTemplatePath is where a workload kind keeps its pod template in the
// rendered object; nil for kinds that have none.
func PodTemplatePath(kind string) []string {
	switch kind {
	case "CronJob":
		return []string{"spec", "jobTemplate", "spec", "template"}
	case "Deployment", "StatefulSet", "Job":
		return []string{"spec", "template"}
	}
	return nil
}
