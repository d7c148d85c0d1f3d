package controller

// Events records Kubernetes Events about the environment. The serve command
// provides one backed by an EventRecorder; tests may pass nil.
type Events interface {
	Normal(reason, message string)
	Warning(reason, message string)
}

type nopEvents struct{}

func (nopEvents) Normal(string, string)  {}
func (nopEvents) Warning(string, string) {}
