package render

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/envop/envop/internal/manifest"
)

// allVolumes are the service's volumes plus those only its init containers
// declare.
func allVolumes(s *manifest.Service) []manifest.Volume {
	out := append([]manifest.Volume(nil), s.Volumes...)
	seen := map[string]bool{}
	for _, v := range s.Volumes {
		seen[v.Name] = true
	}
	for _, c := range s.InitContainers {
		for _, v := range c.Volumes {
			if !seen[v.Name] {
				seen[v.Name] = true
				out = append(out, v)
			}
		}
	}
	return out
}

// templated reports whether a claim becomes a StatefulSet volumeClaimTemplate.
func templated(s *manifest.Service, v *manifest.Volume) bool {
	return s.WorkloadKind() == manifest.KindStatefulSet && v.IsClaim() && v.Provisioning != manifest.ProvisioningManual
}

func (r *renderer) podVolumes(s *manifest.Service) []corev1.Volume {
	var out []corev1.Volume
	for _, v := range allVolumes(s) {
		if templated(s, &v) {
			continue
		}
		out = append(out, corev1.Volume{Name: v.Name, VolumeSource: volumeSource(&v)})
	}
	return out
}

func volumeSource(v *manifest.Volume) corev1.VolumeSource {
	var items []corev1.KeyToPath
	for _, it := range v.Items {
		items = append(items, corev1.KeyToPath{Key: it.Key, Path: it.FilePath, Mode: it.Mode})
	}
	switch {
	case v.IsConfigMap():
		return corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: v.Name}, Items: items}}
	case !v.IsClaim():
		return corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: v.Name, Items: items}}
	}
	return corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
		ClaimName: v.Name, ReadOnly: v.ReadOnly}}
}

func mounts(vols []manifest.Volume) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, v := range vols {
		out = append(out, corev1.VolumeMount{Name: v.Name, MountPath: v.MountPath, ReadOnly: v.ReadOnly})
	}
	return out
}

// claims renders the PersistentVolumeClaims of a service that are neither
// bound by hand (provisioning: manual) nor templated by a StatefulSet.
func (r *renderer) claims(s *manifest.Service) error {
	for _, v := range allVolumes(s) {
		if !v.IsClaim() || v.Provisioning == manifest.ProvisioningManual || templated(s, &v) {
			continue
		}
		spec, err := r.claimSpec(&v)
		if err != nil {
			return fmt.Errorf("volume %q: %w", v.Name, err)
		}
		labels := r.labels(s.Name, v.Name, "")
		labels[LabelClaim] = "true"
		pvc := &corev1.PersistentVolumeClaim{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
			ObjectMeta: metav1.ObjectMeta{Name: v.Name, Namespace: r.namespace, Labels: labels},
			Spec:       spec,
		}
		if err := r.add(pvc); err != nil {
			return err
		}
	}
	return nil
}

func (r *renderer) claimSpec(v *manifest.Volume) (corev1.PersistentVolumeClaimSpec, error) {
	size, err := resource.ParseQuantity(v.Size)
	if err != nil {
		return corev1.PersistentVolumeClaimSpec{}, fmt.Errorf("size: %w", err)
	}
	modes := []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce}
	if len(v.Modes) > 0 {
		modes = modes[:0]
		for _, m := range v.Modes {
			modes = append(modes, corev1.PersistentVolumeAccessMode(m))
		}
	}
	spec := corev1.PersistentVolumeClaimSpec{
		AccessModes: modes,
		Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
	}
	if class := r.storageClass(v); class != "" {
		spec.StorageClassName = &class
	}
	return spec, nil
}

// storageClass is the volume's own class, else the class its type maps to;
// empty leaves the cluster default.
func (r *renderer) storageClass(v *manifest.Volume) string {
	if v.StorageClass != "" {
		return v.StorageClass
	}
	return r.opts.StorageClasses[v.Type]
}

func (r *renderer) claimTemplates(s *manifest.Service) ([]corev1.PersistentVolumeClaim, error) {
	var out []corev1.PersistentVolumeClaim
	for _, v := range allVolumes(s) {
		if !templated(s, &v) {
			continue
		}
		spec, err := r.claimSpec(&v)
		if err != nil {
			return nil, fmt.Errorf("volume %q: %w", v.Name, err)
		}
		labels := r.labels(s.Name, s.Name, "")
		labels[LabelClaim] = "true"
		delete(labels, LabelVersion) // templates are immutable; a version would block deploys
		out = append(out, corev1.PersistentVolumeClaim{
			ObjectMeta: metav1.ObjectMeta{Name: v.Name, Labels: labels},
			Spec:       spec,
		})
	}
	return out, nil
}
