package tools

import "time"

// Test-only access for the tools_test package; none of it is compiled into the server.

// State is a batch's state as stored, without asking Gemini.
func (b *Batches) State(id string) (string, error) {
	bt, err := b.store.GetBatch(id)
	if err != nil {
		return "", err
	}
	return batchState(bt), nil
}

// SetClock replaces the clock that dates jobs and decides their eviction; before first use.
func (j *Jobs) SetClock(now func() time.Time) { j.now = now }

// Len is the number of jobs kept, running or finished.
func (j *Jobs) Len() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.jobs)
}
