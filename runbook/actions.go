package runbook

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"carvision/engine"
)

// Default bounds of actions without a timeout attribute.
const (
	reproTimeout  = 2 * time.Hour
	actionTimeout = 2 * time.Minute
)

func (e *Execution) runAction(ctx context.Context, st *Step, opts RunOptions, out *capBuffer) StepRun {
	timeout := st.Timeout
	if timeout <= 0 {
		timeout = actionTimeout
		if st.Do == "repro" {
			timeout = reproTimeout
		}
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	reason := opts.Reason
	if reason == "" {
		reason = fmt.Sprintf("runbook %s step %s (execution %s)", e.Runbook.ID, st.Name, e.ID)
	}
	req := engine.ActionRequest{Actor: e.Actor, Reason: reason}
	say := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }
	c := e.r.Env.Client()
	var err error
	switch st.Do {
	case "repro":
		err = e.repro(ctx, c, req, st.Force, say)
	case "promote":
		var v string
		if v, err = resolveVersion(ctx, c, st.promoteTarget()); err == nil {
			say("promoting v%s to champion", v)
			if err = c.Promote(ctx, v, req); err == nil {
				say("v%s is champion", v)
			}
		}
	case "rollback":
		say("moving champion back to the previous version")
		if err = c.Rollback(ctx, req); err == nil {
			say("rolled back")
		}
	case "reload-config":
		var cs engine.ConfigState
		if cs, err = c.ReloadConfig(ctx, req); err == nil {
			if !cs.Valid {
				err = fmt.Errorf("%s line %d: %s (the previous config stays in force)", cs.Path, cs.Line, cs.Error)
			} else {
				say("config reloaded from %s", orDash(cs.Path))
			}
		}
	case "rotate-logs":
		if err = e.r.Env.RotateLogs(ctx, req); err == nil {
			say("log rotated: %s", e.r.Env.LogPath())
		}
	default:
		err = fmt.Errorf("unknown action %q", st.Do)
	}
	text, dropped := out.Snapshot()
	sr := StepRun{Output: text, Dropped: dropped}
	switch {
	case err == nil:
		sr.State, sr.Note = Pass, st.Do+" done"
	case errors.Is(err, engine.ErrReadOnly):
		sr.State, sr.Note = Skipped, "refused: "+err.Error()
	case errors.Is(err, engine.ErrUnavailable):
		sr.State, sr.Note = Errored, st.Do+": not available with this engine"
	default:
		sr.State, sr.Note = Fail, st.Do+": "+firstLine(err.Error())
	}
	return sr
}

func (e *Execution) repro(ctx context.Context, c engine.Client, req engine.ActionRequest, force bool, say func(string, ...any)) error {
	ch, err := c.Retrain(ctx, engine.RetrainRequest{ActionRequest: req, Force: force})
	if err != nil {
		return err
	}
	var last engine.PipelineEvent
	got := false
	for {
		select {
		case <-ctx.Done():
			return fmt.Errorf("repro: %w", ctx.Err())
		case ev, ok := <-ch:
			if !ok {
				switch {
				case !got || !last.Done:
					return errors.New("repro: the pipeline ended without a result")
				case last.Err != "":
					return fmt.Errorf("repro failed at %s: %s", last.Stage, last.Err)
				}
				if last.Version != "" {
					say("registered v%s as challenger", strings.TrimPrefix(last.Version, "v"))
				}
				return nil
			}
			got, last = true, ev
			line := fmt.Sprintf("[%s] %s", ev.Stage, ev.Status)
			if ev.Message != "" {
				line += ": " + ev.Message
			}
			if ev.Err != "" {
				line += " — " + ev.Err
			}
			say("%s", line)
		}
	}
}

// resolveVersion turns an alias (champion, challenger) into its version.
func resolveVersion(ctx context.Context, c engine.Client, target string) (string, error) {
	t := strings.TrimPrefix(target, "v")
	if t != "champion" && t != "challenger" {
		return t, nil
	}
	vs, err := c.Models(ctx)
	if err != nil {
		return "", fmt.Errorf("resolve %s: %w", target, err)
	}
	for _, v := range vs {
		for _, a := range v.Aliases {
			if a == t {
				return strings.TrimPrefix(v.Version, "v"), nil
			}
		}
	}
	return "", fmt.Errorf("no model is %s (run repro first)", t)
}

func orDash(s string) string {
	if s == "" {
		return "—"
	}
	return s
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
