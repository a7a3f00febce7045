package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

// watch follows the run's stream to its end and returns the delivery
// latency of each journal event journaled once the stream was open;
// opened is called once, when the stream is open or could not be.
func watch(url, token, id string, opened func()) ([]time.Duration, int, error) {
	req, _ := http.NewRequest("GET", url+"/api/v1/runs/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	opened()
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, 0, fmt.Errorf("stream: %s", resp.Status)
	}
	// Events journaled before the stream was open are a backlog, not a
	// delivery: only those journaled after it count.
	r := newReader(resp.Body, time.Now())
	err = r.read()
	return r.lat, r.n, err
}

// reader parses a stream of server-sent events as it comes: every frame,
// every field; the journal events' seqs must follow each other without a
// gap, and each event's receipt time is taken when its frame was read.
// It allocates nothing per line (the instrument must not be what is slow).
type reader struct {
	br   *bufio.Reader
	open time.Time // events journaled before are a backlog
	lat  []time.Duration
	n    int   // journal events
	last int64 // seq of the last journal event

	id, event []byte // of the frame being read
	data      []byte
}

func newReader(r io.Reader, open time.Time) *reader {
	return &reader{br: bufio.NewReaderSize(r, 256<<10), open: open, lat: make([]time.Duration, 0, 4096),
		id: make([]byte, 0, 32), event: make([]byte, 0, 32), data: make([]byte, 0, 4096)}
}

var (
	errNoEnd = errors.New("stream ended without end")
	prefixID = []byte("id: ")
	prefixEv = []byte("event: ")
	prefixDa = []byte("data: ")
)

// read reads frames to the end event.
func (r *reader) read() error {
	for {
		line, err := r.br.ReadSlice('\n')
		if err == bufio.ErrBufferFull { // a longer line than the buffer: keep it whole
			whole := append([]byte(nil), line...)
			for err == bufio.ErrBufferFull {
				line, err = r.br.ReadSlice('\n')
				whole = append(whole, line...)
			}
			line = whole
		}
		if err != nil {
			if err == io.EOF {
				return errNoEnd
			}
			return fmt.Errorf("%w: %v", errNoEnd, err)
		}
		line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
		switch {
		case len(line) == 0: // the frame is whole
			end, err := r.frame()
			if end || err != nil {
				return err
			}
		case line[0] == ':': // a comment (keep-alive)
		case bytes.HasPrefix(line, prefixID):
			r.id = append(r.id[:0], line[len(prefixID):]...)
		case bytes.HasPrefix(line, prefixEv):
			r.event = append(r.event[:0], line[len(prefixEv):]...)
		case bytes.HasPrefix(line, prefixDa):
			r.data = append(r.data, line[len(prefixDa):]...)
		default:
			return fmt.Errorf("unknown line %q", line)
		}
	}
}

// frame takes in the frame just read; end: it was the end event.
func (r *reader) frame() (end bool, err error) {
	defer func() { r.id, r.event, r.data = r.id[:0], r.event[:0], r.data[:0] }()
	switch string(r.event) { // no allocation: compared in place
	case "end":
		return true, nil
	case "journal":
	case "":
		if len(r.data) == 0 {
			return false, nil
		}
		return false, fmt.Errorf("data without event: %q", r.data)
	default:
		return false, fmt.Errorf("unknown event %q", r.event)
	}
	now := time.Now()
	seq, err := strconv.ParseInt(string(r.id), 10, 64)
	if err != nil {
		return false, fmt.Errorf("event id %q: %v", r.id, err)
	}
	if r.last != 0 && seq != r.last+1 {
		return false, fmt.Errorf("event %d after %d: a gap or a repeat", seq, r.last)
	}
	if got, ok := field(r.data, `"seq":`); !ok || string(got) != string(r.id) {
		return false, fmt.Errorf("event %d: data seq %q", seq, got)
	}
	ts, ok := field(r.data, `"time":"`)
	if !ok {
		return false, fmt.Errorf("event %d: no time", seq)
	}
	t, err := parseTime(ts)
	if err != nil {
		return false, fmt.Errorf("event %d: %v", seq, err)
	}
	r.last = seq
	r.n++
	if t.After(r.open) {
		r.lat = append(r.lat, now.Sub(t))
	}
	return false, nil
}

// field is the value after key in a JSON object's bytes: up to the next
// comma or quote.
func field(data []byte, key string) ([]byte, bool) {
	i := bytes.Index(data, []byte(key))
	if i < 0 {
		return nil, false
	}
	v := data[i+len(key):]
	j := bytes.IndexAny(v, `",}`)
	if j < 0 {
		return nil, false
	}
	return v[:j], true
}

// parseTime parses a journal time as the server writes it, in UTC:
// 2006-01-02T15:04:05.999999999Z, without allocating; other forms go
// through time.Parse.
func parseTime(b []byte) (time.Time, error) {
	num := func(b []byte) (int, bool) {
		n := 0
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int(c-'0')
		}
		return n, true
	}
	if len(b) >= 20 && b[len(b)-1] == 'Z' && b[4] == '-' && b[7] == '-' && b[10] == 'T' && b[13] == ':' && b[16] == ':' {
		y, ok1 := num(b[0:4])
		mo, ok2 := num(b[5:7])
		d, ok3 := num(b[8:10])
		h, ok4 := num(b[11:13])
		mi, ok5 := num(b[14:16])
		s, ok6 := num(b[17:19])
		ns, ok7 := 0, true
		if frac := b[19 : len(b)-1]; len(frac) > 0 {
			ok7 = frac[0] == '.' && len(frac) >= 2 && len(frac) <= 10
			if ok7 {
				ns, ok7 = num(frac[1:])
				for i := len(frac) - 1; i < 9; i++ {
					ns *= 10
				}
			}
		}
		if ok1 && ok2 && ok3 && ok4 && ok5 && ok6 && ok7 {
			return time.Date(y, time.Month(mo), d, h, mi, s, ns, time.UTC), nil
		}
	}
	return time.Parse(time.RFC3339Nano, string(b))
}
