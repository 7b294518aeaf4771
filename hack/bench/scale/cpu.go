package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// clockTicks is USER_HZ, the unit of utime and stime in /proc/PID/stat: 100 on Linux.
const clockTicks = 100

// cpuSample is the CPU time, in seconds, each process of the system has used so far.
type cpuSample map[string]float64

// cpuProcesses are the processes whose CPU time is sampled, in the order they are reported.
var cpuProcesses = []string{"kube-apiserver", "etcd", "webhook", "noop", "bench"}

// cpu samples the CPU time of the API server and etcd (children of this process), the
// webhook binary, the no-op webhook and this program, which generates the load.
func (b *bench) cpu() cpuSample {
	sample := cpuSample{}
	for _, pid := range childPIDs() {
		comm, seconds, ok := procCPU(pid)
		if ok && (comm == "kube-apiserver" || comm == "etcd") {
			sample[comm] += seconds
		}
	}
	for name, p := range map[string]*webhookProcess{"webhook": b.hook, "noop": b.noop} {
		if p != nil {
			if _, seconds, ok := procCPU(p.cmd.Process.Pid); ok {
				sample[name] = seconds
			}
		}
	}
	if _, seconds, ok := procCPU(os.Getpid()); ok {
		sample["bench"] = seconds
	}
	return sample
}

// perItem returns the CPU milliseconds each process spent per item between the samples.
func (s cpuSample) perItem(before cpuSample, items int) string {
	var parts []string
	total := 0.0
	for _, name := range cpuProcesses {
		if _, ok := s[name]; !ok {
			continue
		}
		ms := (s[name] - before[name]) * 1000 / float64(items)
		total += ms
		parts = append(parts, fmt.Sprintf("%s %.2f", name, ms))
	}
	return fmt.Sprintf("CPU ms per Pod: %s; total %.2f", strings.Join(parts, ", "), total)
}

// childPIDs lists the processes whose parent is this one.
func childPIDs() []int {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat") // a fixed pattern cannot be malformed
	var pids []int
	for _, path := range stats {
		data, err := os.ReadFile(path) //nolint:gosec // a /proc path
		if err != nil {
			continue
		}
		fields := statFields(string(data))
		if len(fields) > 1 && fields[1] == strconv.Itoa(os.Getpid()) {
			pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path))) // digits by the pattern
			pids = append(pids, pid)
		}
	}
	return pids
}

// procCPU returns the command name and the user and system CPU seconds of the process.
func procCPU(pid int) (string, float64, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, false
	}
	text := string(data)
	open, closing := strings.IndexByte(text, '('), strings.LastIndexByte(text, ')')
	if open < 0 || closing < open {
		return "", 0, false
	}
	fields := statFields(text)
	// After the command: state, ppid, ... utime is the 14th field of the line and stime
	// the 15th, so the 12th and 13th after the command (proc(5)).
	if len(fields) < 13 {
		return "", 0, false
	}
	utime, err1 := strconv.ParseFloat(fields[11], 64)
	stime, err2 := strconv.ParseFloat(fields[12], 64)
	if err1 != nil || err2 != nil {
		return "", 0, false
	}
	return text[open+1 : closing], (utime + stime) / clockTicks, true
}

// statFields are the fields of a /proc/PID/stat line after the command name, which may
// hold spaces: state first, then the parent's PID.
func statFields(text string) []string {
	closing := strings.LastIndexByte(text, ')')
	if closing < 0 {
		return nil
	}
	return strings.Fields(text[closing+1:])
}
