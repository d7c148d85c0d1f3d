package controller

// Events records Kubernetes Events about the environment. The serve command
// provides one backed by an EventRecorder; tests may pass nil.
type Events interface {
	Normal(reason, message string)
	Warning(reason, message string)
	// On records an Event about an object of the environment's namespace
	// (kind as in the object, e.g. "Deployment"); eventType is
	// corev1.EventTypeNormal or Warning.
	On(kind, name, eventType, reason, message string)
}

type nopEvents struct{}

func (nopEvents) Normal(string, string)                     {}
func (nopEvents) Warning(string, string)                    {}
func (nopEvents) On(string, string, string, string, string) {}
