package card

import (
	"errors"
	"fmt"

	"github.com/tes-project/tes/felica"
)

// specVersion is what Request Specification Version reports, as in FELICA.md's
// vector: basic version 5.0.0 and one option, DES 5.0.0 (bytes 00 85 on the air).
const specVersion = 0x8500

// commPerformance is the Polling request data for request code 02: 212 and 424 kbps,
// with automatic detection, as phones report it.
const commPerformance = 0x0083

// execute runs one command frame, whose code is code, against the card and builds its
// answer. Called with mu held. Every error wraps ErrNoAnswer: the card stays silent.
func (c *Card) execute(code felica.Code, frame []byte) ([]byte, error) {
	var answer []byte
	var err error
	switch code {
	case felica.CodePolling:
		answer, err = c.polling(frame)
	case felica.CodeRequestService:
		answer, err = c.requestService(frame)
	case felica.CodeRequestResponse:
		answer, err = c.requestResponse(frame)
	case felica.CodeRead:
		answer, err = c.read(frame)
	case felica.CodeWrite:
		answer, err = c.write(frame)
	case felica.CodeSearchServiceCode:
		answer, err = c.searchServiceCode(frame)
	case felica.CodeRequestSystemCode:
		answer, err = c.requestSystemCode(frame)
	case felica.CodeRequestSpecVersion:
		answer, err = c.requestSpecVersion(frame)
	case felica.CodeResetMode:
		answer, err = c.resetMode(frame)
	case felica.CodeRequestServiceV2:
		answer, err = c.requestServiceV2(frame)
	case felica.CodeAuth1V2:
		answer, err = c.auth1V2(frame)
	case felica.CodeAuth2V2:
		answer, err = c.auth2V2(frame)
	case felica.CodeReadV2:
		answer, err = c.readV2(frame)
	case felica.CodeWriteV2:
		answer, err = c.writeV2(frame)
	case felica.CodeAuth1:
		answer, err = c.auth1DES(frame)
	case felica.CodeAuth2:
		answer, err = c.auth2DES(frame)
	case felica.CodeReadDES:
		answer, err = c.readDES(frame)
	case felica.CodeWriteDES:
		answer, err = c.writeDES(frame)
	default:
		return nil, fmt.Errorf("%w: %s is not a command this card answers", ErrNoAnswer, code)
	}
	if err != nil {
		return nil, silent(err)
	}
	return answer, nil
}

// silent wraps why the card does not answer.
func silent(err error) error {
	return fmt.Errorf("%w: %w", ErrNoAnswer, err)
}

// addressed checks that a parsed command is for this card.
func (c *Card) addressed(idm felica.IDm) error {
	if idm != c.idm {
		return errors.New("addressed to another card")
	}
	return nil
}

func (c *Card) polling(frame []byte) ([]byte, error) {
	cmd, err := felica.ParsePollingCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if !cmd.SystemCode.Matches(c.systemCode) {
		return nil, fmt.Errorf("polling for system %s, card has %s", cmd.SystemCode, c.systemCode)
	}
	r := felica.PollingResponse{IDm: c.idm, PMm: c.pmm}
	switch cmd.RequestCode {
	case felica.RequestNone:
	case felica.RequestSystemCode:
		r.RequestData, r.HasRequestData = uint16(c.systemCode), true
	case felica.RequestCommPerformance:
		r.RequestData, r.HasRequestData = commPerformance, true
	default:
		return nil, fmt.Errorf("polling request code %02X", cmd.RequestCode)
	}
	return r.Append(nil, c.settings.Framing)
}

func (c *Card) requestService(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseRequestServiceCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.RequestServiceResponse{IDm: c.idm, KeyVersions: make([]uint16, len(cmd.Nodes))}
	for i, node := range cmd.Nodes {
		r.KeyVersions[i] = c.nodes.keyVersion(node)
	}
	return r.Append(nil, c.settings.Framing)
}

// requestResponse reports the mode: 0, 1 after Authentication1 (v2), 2 in a session.
func (c *Card) requestResponse(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseRequestResponseCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	return felica.RequestResponseResponse{IDm: c.idm, Mode: byte(c.auth.mode)}.Append(nil, c.settings.Framing)
}

func (c *Card) read(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseReadCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.ReadResponse{IDm: c.idm}
	targets, rej := c.nodes.resolveBlockList(cmd.Services, cmd.Blocks, false, false, c.settings.MaxReadBlocks)
	if rej != nil {
		r.Status = c.status(rej)
		return r.Append(nil, c.settings.Framing)
	}
	r.Data = make([]byte, 0, len(targets)*felica.BlockSize)
	for _, t := range targets {
		r.Data = append(r.Data, t.data.blocks[t.block][:]...)
	}
	return r.Append(nil, c.settings.Framing)
}

// write applies a Write Without Encryption all or nothing: every element is checked
// before any block changes.
func (c *Card) write(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseWriteCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.WriteResponse{IDm: c.idm}
	targets, rej := c.nodes.resolveBlockList(cmd.Services, cmd.Blocks, true, false, c.settings.MaxWriteBlocks)
	if rej != nil {
		r.Status = c.status(rej)
		return r.Append(nil, c.settings.Framing)
	}
	data := make([][felica.BlockSize]byte, len(targets))
	for i := range data {
		copy(data[i][:], cmd.Block(i))
	}
	applyWrite(targets, data)
	return r.Append(nil, c.settings.Framing)
}

// status turns a rejected block list into status flags, SF1 as the card reports it.
func (c *Card) status(rej *rejection) felica.Status {
	return felica.Status{SF1: statusFlag1(rej.position, c.settings.SF1Bitmap), SF2: rej.flag}
}

func (c *Card) searchServiceCode(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseSearchServiceCodeCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.SearchServiceCodeResponse{IDm: c.idm, Node: felica.SystemNode}
	if int(cmd.Index) < len(c.nodes.search) {
		r.Node = c.nodes.search[cmd.Index]
		if area, ok := c.nodes.areas[r.Node]; ok {
			r.End = area.End
		}
	}
	return r.Append(nil, c.settings.Framing)
}

func (c *Card) requestSystemCode(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseRequestSystemCodeCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.RequestSystemCodeResponse{IDm: c.idm, SystemCodes: []felica.SystemCode{c.systemCode}}
	return r.Append(nil, c.settings.Framing)
}

// resetMode drops any authentication and returns the card to mode 0.
func (c *Card) resetMode(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseResetModeCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	c.auth.reset()
	return felica.ResetModeResponse{IDm: c.idm}.Append(nil, c.settings.Framing)
}

func (c *Card) requestSpecVersion(frame []byte) ([]byte, error) {
	cmd, err := felica.ParseRequestSpecVersionCommand(frame, c.settings.Framing)
	if err != nil {
		return nil, err
	}
	if err := c.addressed(cmd.IDm); err != nil {
		return nil, err
	}
	r := felica.RequestSpecVersionResponse{IDm: c.idm, BasicVersion: specVersion, OptionVersions: []uint16{specVersion}}
	return r.Append(nil, c.settings.Framing)
}
