package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// cpuOf is the user and system CPU time process pid has used so far.
func cpuOf(pid int) (time.Duration, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read the CPU time of process %d: %w", pid, err)
	}
	// Fields follow the command name in parentheses; utime and stime are
	// the 14th and 15th, in clock ticks of 1/100 s on Linux.
	s := string(data)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("read the CPU time of process %d: short /proc stat", pid)
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// planeProcess is a process of the control plane whose CPU the bench
// follows.
type planeProcess struct{ name, pidFile string }

// planeProcesses are the API server and etcd: the two every request costs.
func (b *bench) planeProcesses() []planeProcess {
	dir := filepath.Join(b.work, "cluster", "pids")
	return []planeProcess{
		{"kube-apiserver", filepath.Join(dir, "kube-apiserver.pid")},
		{"etcd", filepath.Join(dir, "etcd.pid")},
	}
}

// planeCPU is the CPU time the API server and etcd used so far, by name.
func (b *bench) planeCPU() (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, p := range b.planeProcesses() {
		data, err := os.ReadFile(p.pidFile)
		if err != nil {
			return nil, fmt.Errorf("the pid of %s: %w", p.name, err)
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			return nil, fmt.Errorf("the pid of %s: %w", p.name, err)
		}
		if out[p.name], err = cpuOf(pid); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// cpuSample is the plane's CPU time at one moment.
type cpuSample struct {
	at  time.Time
	cpu map[string]time.Duration
}

// cpuSampler reads the plane's CPU time every interval until stopped, so
// that a window (a phase of the operator's sync) can be given its share.
type cpuSampler struct {
	b       *bench
	mu      sync.Mutex
	samples []cpuSample
	stopc   chan struct{}
	done    chan struct{}
}

func (b *bench) sampleCPU(every time.Duration) *cpuSampler {
	s := &cpuSampler{b: b, stopc: make(chan struct{}), done: make(chan struct{})}
	s.take()
	go func() {
		defer close(s.done)
		tick := time.NewTicker(every)
		defer tick.Stop()
		for {
			select {
			case <-s.stopc:
				s.take()
				return
			case <-tick.C:
				s.take()
			}
		}
	}()
	return s
}

func (s *cpuSampler) take() {
	cpu, err := s.b.planeCPU()
	if err != nil {
		return
	}
	s.mu.Lock()
	s.samples = append(s.samples, cpuSample{at: time.Now(), cpu: cpu})
	s.mu.Unlock()
}

// stop ends the sampling and returns the samples, oldest first.
func (s *cpuSampler) stop() []cpuSample {
	close(s.stopc)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.samples
}

// cpuAt is process name's CPU time at t, interpolated between samples.
func cpuAt(samples []cpuSample, name string, t time.Time) time.Duration {
	if len(samples) == 0 {
		return 0
	}
	if !t.After(samples[0].at) {
		return samples[0].cpu[name]
	}
	for i := 1; i < len(samples); i++ {
		a, b := samples[i-1], samples[i]
		if t.After(b.at) {
			continue
		}
		span := b.at.Sub(a.at)
		if span <= 0 {
			return b.cpu[name]
		}
		frac := float64(t.Sub(a.at)) / float64(span)
		return a.cpu[name] + time.Duration(frac*float64(b.cpu[name]-a.cpu[name]))
	}
	return samples[len(samples)-1].cpu[name]
}

// cpuBetween is the CPU time the API server and etcd used together
// between from and to.
func cpuBetween(samples []cpuSample, from, to time.Time) time.Duration {
	var sum time.Duration
	for _, name := range []string{"kube-apiserver", "etcd"} {
		sum += cpuAt(samples, name, to) - cpuAt(samples, name, from)
	}
	return sum
}
