package load

import (
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

// WriteTable prints the result as a small table for a person.
func (r *Result) WriteTable(w io.Writer) error {
	c := r.Config
	how := fmt.Sprintf("one list of the volumes in creating/deleting every %s, then a GET per volume to confirm", c.Poll)
	if c.Wait == WaitGet {
		how = fmt.Sprintf("each client polls GET /volumes/{id} every %s", c.Poll)
	}
	fmt.Fprintf(w, "endpoint %s (project %s): %d volumes of %d GiB, concurrency %d\nend of a create/delete seen by: %s\n",
		c.Endpoint, c.Project, c.N, c.Size, c.C, how)
	if c.Attach {
		fmt.Fprintf(w, "attach: POST /attachments with a connector (reserve + connection_info), then os-complete; detach: DELETE /attachments/{id} (microversion %s)\n", AttachMicroversion)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "phase\tok\terrors\twall\trate\tp50\tp90\tp99\tmax\trequests\t")
	for _, p := range r.Phases() {
		if p.Name == "" {
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%.1f %s\t%s\t%s\t%s\t%s\t%d\t\n", p.Name, p.OK, p.Errors,
			FormatDuration(p.Wall), p.Rate(), p.Unit,
			FormatDuration(p.Latency.P50), FormatDuration(p.Latency.P90), FormatDuration(p.Latency.P99),
			FormatDuration(p.Latency.Max), p.Requests)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\nlatency of create→available and delete→gone: from sending the request to the answer of the poll that saw the end")
	fmt.Fprintln(w, "(resolution: the poll interval); rate: operations that succeeded / wall time from the first request to the last end;")
	fmt.Fprintln(w, "requests: every HTTP request of the phase, polls included.")
	if r.Attach.Name != "" {
		fmt.Fprintln(w, "latency of attach: from sending the POST /attachments to the answer of os-complete; of detach: the DELETE.")
	}
	for _, p := range r.Phases() {
		if p.FirstErr != "" {
			fmt.Fprintf(w, "first error of %s: %s\n", p.Name, p.FirstErr)
		}
	}
	return nil
}

// FormatDuration prints d with three significant digits: 312µs, 4.21ms, 1.53s.
func FormatDuration(d time.Duration) string {
	switch {
	case d == 0:
		return "-"
	case d < time.Millisecond:
		return fmt.Sprintf("%dµs", d.Microseconds())
	case d < 10*time.Millisecond:
		return fmt.Sprintf("%.2fms", float64(d)/float64(time.Millisecond))
	case d < 100*time.Millisecond:
		return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond))
	case d < time.Second:
		return fmt.Sprintf("%.0fms", float64(d)/float64(time.Millisecond))
	case d < time.Minute:
		return fmt.Sprintf("%.2fs", d.Seconds())
	default:
		return d.Round(time.Second).String()
	}
}
