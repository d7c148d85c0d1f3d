package health

import "sync"

// notifier wakes subscribers when something changed. Each subscriber has a
// channel with a buffer of one, so notifications coalesce: a slow reader
// finds one pending wake-up, never a backlog, and the sender never blocks.
type notifier struct {
	mu   sync.Mutex
	subs map[chan struct{}]struct{}
	def  chan struct{}
}

func newNotifier() *notifier {
	def := make(chan struct{}, 1)
	return &notifier{subs: map[chan struct{}]struct{}{def: {}}, def: def}
}

func (n *notifier) subscribe() (<-chan struct{}, func()) {
	ch := make(chan struct{}, 1)
	n.mu.Lock()
	n.subs[ch] = struct{}{}
	n.mu.Unlock()
	return ch, func() {
		n.mu.Lock()
		delete(n.subs, ch)
		n.mu.Unlock()
	}
}

func (n *notifier) notify() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for ch := range n.subs {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}
