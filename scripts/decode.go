package scripts

import (
	"fmt"

	"github.com/tes-project/tes/felica"
)

// Kinds of commands the felica Lua module builds.
const (
	kindPolling        = "polling"
	kindRead           = "read"
	kindWrite          = "write"
	kindRequestService = "request_service"
	kindRaw            = "raw"
	// The Request Service v2 command and the secure commands (secure.go).
	kindRequestServiceV2 = "request_service_v2"
	kindAuth             = "auth"  // Authentication1 v2, then (internally) 2
	kindAuth2            = "auth2" // Authentication2 v2; its Response says auth
	kindReadV2           = "read_v2"
	kindWriteV2          = "write_v2"
)

// decodeAnswers decodes the device's answers to the batch st sent. A
// missing or empty answer is a Response with Answered false; a frame that
// does not parse is Valid false with the reason in Error. The first valid
// Polling answer becomes the session's card. Answers to secure commands are
// checked and opened by sec (secure.go), which may also return the
// Authentication2 v2 command that continues a sam.auth; notes are what the
// trace shows of them.
func decodeAnswers(st *state, answers [][]byte, f felica.Framing, sec *secureSide) (out map[string]Response, notes []string, cont []byte, err error) {
	if len(answers) > len(st.Batch) {
		return nil, nil, nil, fmt.Errorf("%w: %d answers to a batch of %d", ErrState, len(answers), len(st.Batch))
	}
	out = make(map[string]Response, len(st.Batch))
	for i, d := range st.Batch {
		var frame []byte
		if i < len(answers) {
			frame = answers[i]
		}
		var r Response
		switch d.Kind {
		case kindAuth, kindAuth2, kindReadV2, kindWriteV2:
			var note string
			if r, note, cont, err = sec.decode(st, d, frame); err != nil {
				return nil, nil, nil, err
			}
			if note != "" {
				notes = append(notes, note)
			}
		default:
			r = decodeAnswer(d, frame, f)
		}
		if r.Kind == kindPolling && r.Valid && st.IDm == "" {
			st.IDm, st.PMm = r.IDm, r.PMm
		}
		if r.Kind == kindRequestServiceV2 && r.OK && len(r.KeyVersions) == len(d.Nodes) {
			if st.KeyVersions == nil {
				st.KeyVersions = make(map[uint16]uint16, len(d.Nodes))
			}
			for i, n := range d.Nodes {
				st.KeyVersions[n] = uint16(r.KeyVersions[i])
			}
		}
		out[d.Label] = r
	}
	return out, notes, cont, nil
}

func decodeAnswer(d cmdDesc, frame []byte, f felica.Framing) Response {
	r := Response{Kind: d.Kind, Answered: len(frame) > 0}
	if !r.Answered {
		return r
	}
	var idm felica.IDm
	if d.IDm != "" {
		var err error
		if idm, err = felica.ParseIDm(d.IDm); err != nil {
			r.Error = err.Error()
			return r
		}
	}
	var err error
	switch d.Kind {
	case kindPolling:
		var p felica.PollingResponse
		if p, err = felica.ParsePollingResponse(frame, f); err == nil {
			r.IDm, r.PMm, r.System = p.IDm.String(), p.PMm.String(), int(p.RequestData)
			r.OK = true
		}
	case kindRead:
		var p felica.ReadResponse
		if p, err = felica.ParseReadResponse(frame, f, idm); err == nil {
			r.IDm, r.SF1, r.SF2, r.OK = p.IDm.String(), int(p.Status.SF1), int(p.Status.SF2), p.Status.OK()
			r.Blocks = make([][]byte, p.Count())
			for i := range r.Blocks {
				r.Blocks[i] = p.Block(i)
			}
		}
	case kindWrite:
		var p felica.WriteResponse
		if p, err = felica.ParseWriteResponse(frame, f, idm); err == nil {
			r.IDm, r.SF1, r.SF2, r.OK = p.IDm.String(), int(p.Status.SF1), int(p.Status.SF2), p.Status.OK()
		}
	case kindRequestService:
		var p felica.RequestServiceResponse
		if p, err = felica.ParseRequestServiceResponse(frame, f, idm); err == nil {
			r.IDm, r.OK = p.IDm.String(), true
			r.KeyVersions = make([]int, len(p.KeyVersions))
			for i, v := range p.KeyVersions {
				r.KeyVersions[i] = int(v)
			}
		}
	case kindRequestServiceV2:
		var p felica.RequestServiceV2Response
		if p, err = felica.ParseRequestServiceV2Response(frame, f, idm); err == nil {
			r.IDm, r.SF1, r.SF2, r.OK = p.IDm.String(), int(p.Status.SF1), int(p.Status.SF2), p.Status.OK()
			r.KeyVersions = make([]int, len(p.AESKeyVersions))
			for i, v := range p.AESKeyVersions {
				r.KeyVersions[i] = int(v)
			}
		}
	case kindRaw:
		r.Raw, r.OK = frame, true
	default:
		err = fmt.Errorf("unknown command kind %q", d.Kind)
	}
	if err != nil {
		r.Error = err.Error()
		r.OK = false
		return r
	}
	r.Valid = true
	return r
}
