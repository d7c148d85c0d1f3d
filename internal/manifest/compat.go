package manifest

// noAutoscaler drops an hpa whose min_replicas is 0, with a warning there:
// the original created no autoscaler for it, and the service ran its own
// replicas. Anything else is returned as it is, for validation.
func (d *decoder) noAutoscaler(h *HPA) *HPA {
	mp := joinPath(h.Path, "min_replicas")
	pos, written := d.pos[mp]
	if !written || h.MinReplicas != 0 || d.failed(mp) {
		return h
	}
	d.diags = append(d.diags, Diagnostic{File: d.file, Line: pos.Line, Col: pos.Col, Path: mp, Severity: SeverityWarning,
		Message: "0 means no autoscaler, as in the original: no HorizontalPodAutoscaler is rendered and the service runs its replicas (1 unless set); remove hpa, or set min_replicas to 1 or more to autoscale"})
	return nil
}

// failed reports whether the value at path was reported as an error.
func (d *decoder) failed(path string) bool {
	for _, diag := range d.diags {
		if diag.Path == path && diag.Severity == SeverityError {
			return true
		}
	}
	return false
}

// gistVolumes takes a volume without type that is named like a gist of its
// environment, and has none of a claim's settings, for a mount of the
// gist's ConfigMap, with a warning at its name: it can mean nothing else
// (the original's documentation wrote its gist volumes so; the original
// itself took them for claims without size, which it could not create).
func gistVolumes(f *File) Diagnostics {
	v := &checker{f: f}
	for i := range f.Environments {
		e := &f.Environments[i]
		gists := map[string]bool{}
		for _, g := range e.Gists {
			gists[g.Name] = g.Name != ""
		}
		if len(gists) == 0 {
			continue
		}
		for j := range e.Services {
			s := &e.Services[j]
			v.podGistVolumes(gists, s.Volumes, s.InitContainers)
		}
		for j := range e.Presets {
			ps := &e.Presets[j]
			v.podGistVolumes(gists, ps.Volumes, ps.InitContainers)
		}
	}
	return v.diags
}

// podGistVolumes takes the gist volumes of a pod's volumes and of its init
// containers'. An init container's volume named like one of the pod's only
// mounts it, and takes its type when rendered: it is left alone.
func (v *checker) podGistVolumes(gists map[string]bool, vols []Volume, inits []Container) {
	v.gistVolumes(gists, vols)
	own := map[string]bool{}
	for _, vol := range vols {
		own[vol.Name] = true
	}
	for k := range inits {
		c := &inits[k]
		for m := range c.Volumes {
			if vol := &c.Volumes[m]; !own[vol.Name] {
				v.gistVolumes(gists, c.Volumes[m:m+1])
			}
		}
	}
}

// claimFields are the settings that make a volume a claim.
var claimFields = []string{"size", "modes", "storage_class", "provisioning"}

func (v *checker) gistVolumes(gists map[string]bool, vols []Volume) {
	for i := range vols {
		vol := &vols[i]
		if vol.Type != "" || !gists[vol.Name] || v.hasAny(vol.Path, claimFields) {
			continue
		}
		vol.Type = VolumeConfigMap
		v.warnf(joinPath(vol.Path, "name"), "has no type and is named like gist %q: it mounts the gist's ConfigMap; add type: configmap to say so (the original took such a volume for a claim without size, which it could not create)", vol.Name)
	}
}

// hasAny reports whether the file writes any of fields under path.
func (v *checker) hasAny(path string, fields []string) bool {
	for _, field := range fields {
		if v.f.positions.has(joinPath(path, field)) {
			return true
		}
	}
	return false
}
