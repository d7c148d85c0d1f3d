package render

import "github.com/envop/envop/internal/manifest"

// mergePresets returns a copy of the service with its presets merged in:
// those it names, in order, then those whose selector matches its labels.
// The service's own settings win, and an earlier preset wins over a later.
func mergePresets(env *manifest.Environment, s *manifest.Service) *manifest.Service {
	presets := env.PresetsOf(s)
	if len(presets) == 0 {
		return s
	}
	out := *s
	out.Annotations = mergeMaps(nil, s.Annotations)
	for _, p := range presets {
		out.Env = mergeByName(out.Env, p.Env, func(e manifest.EnvVar) string { return e.Name })
		out.EnvFrom = mergeByName(out.EnvFrom, p.EnvFrom, func(e manifest.EnvFrom) string { return e.Secret + "/" + e.ConfigMap })
		out.Volumes = mergeByName(out.Volumes, p.Volumes, func(v manifest.Volume) string { return v.Name })
		out.InitContainers = mergeByName(out.InitContainers, p.InitContainers, func(c manifest.Container) string { return c.Name })
		for k, v := range p.Annotations {
			if _, ok := out.Annotations[k]; !ok {
				if out.Annotations == nil {
					out.Annotations = map[string]string{}
				}
				out.Annotations[k] = v
			}
		}
	}
	return &out
}

// mergeByName appends the items of extra whose key own does not have.
func mergeByName[T any](own, extra []T, key func(T) string) []T {
	have := map[string]bool{}
	for _, x := range own {
		have[key(x)] = true
	}
	out := append([]T(nil), own...)
	for _, x := range extra {
		if k := key(x); !have[k] {
			have[k] = true
			out = append(out, x)
		}
	}
	return out
}
