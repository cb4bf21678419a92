package felica_test

import (
	"errors"
	"math/rand"
	"reflect"
	"testing"
	"testing/quick"

	"github.com/tes-project/tes/felica"
)

// roundTrip checks the property parse(build(v)) == v over values gen makes,
// in both framings, with quick's random seeds.
func roundTrip[T appender](t *testing.T, gen func(r *rand.Rand) T, parse func([]byte, felica.Framing, felica.IDm) (T, error), idmOf func(T) felica.IDm) {
	t.Helper()
	property := func(seed int64, withoutLEN bool) bool {
		r := rand.New(rand.NewSource(seed))
		v := gen(r)
		f := felica.WithLEN
		if withoutLEN {
			f = felica.WithoutLEN
		}
		frame, err := v.Append(nil, f)
		if err != nil {
			t.Logf("build %#v: %v", v, err)
			return false
		}
		got, err := parse(frame, f, idmOf(v))
		if err != nil || !reflect.DeepEqual(got, v) {
			t.Logf("%X parsed as %#v, %v; built from %#v", frame, got, err, v)
			return false
		}
		return true
	}
	if err := quick.Check(property, &quick.Config{MaxCount: 300}); err != nil {
		t.Error(err)
	}
}

func genIDm(r *rand.Rand) (id felica.IDm) { r.Read(id[:]); return id }

func genNodes(r *rand.Rand, lo, hi int) []felica.NodeCode {
	out := make([]felica.NodeCode, lo+r.Intn(hi-lo+1))
	for i := range out {
		out[i] = felica.NodeCode(r.Intn(0x10000))
	}
	return out
}

func genU16s(r *rand.Rand, n int) []uint16 {
	out := make([]uint16, n)
	for i := range out {
		out[i] = uint16(r.Intn(0x10000))
	}
	return out
}

func genBlocks(r *rand.Rand, services, lo, hi int) []felica.BlockElement {
	out := make([]felica.BlockElement, lo+r.Intn(hi-lo+1))
	for i := range out {
		out[i] = felica.BlockElement{Service: uint8(r.Intn(services)), Access: felica.AccessMode(r.Intn(8)), Block: uint16(r.Intn(0x10000))}
		if r.Intn(2) == 0 {
			out[i].Block %= 256
		}
	}
	return out
}

// genStatus is success half of the time.
func genStatus(r *rand.Rand) felica.Status {
	if r.Intn(2) == 0 {
		return felica.Status{}
	}
	return felica.Status{SF1: byte(1 + r.Intn(255)), SF2: byte(r.Intn(256))}
}

func genBytes(r *rand.Rand, n int) []byte { b := make([]byte, n); r.Read(b); return b }

func noIDm[T any](fn func([]byte, felica.Framing) (T, error)) func([]byte, felica.Framing, felica.IDm) (T, error) {
	return func(b []byte, f felica.Framing, _ felica.IDm) (T, error) { return fn(b, f) }
}

func zeroIDm[T any](T) felica.IDm { return felica.IDm{} }

func TestRoundTrip(t *testing.T) {
	t.Run("Polling", func(t *testing.T) {
		slots := []uint8{0, 1, 3, 7, 15}
		roundTrip(t, func(r *rand.Rand) felica.PollingCommand {
			return felica.PollingCommand{SystemCode: felica.SystemCode(r.Intn(0x10000)), RequestCode: felica.RequestCode(r.Intn(3)), TimeSlot: slots[r.Intn(len(slots))]}
		}, noIDm(felica.ParsePollingCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.PollingResponse {
			v := felica.PollingResponse{IDm: genIDm(r), HasRequestData: r.Intn(2) == 0}
			r.Read(v.PMm[:])
			if v.HasRequestData {
				v.RequestData = uint16(r.Intn(0x10000))
			}
			return v
		}, noIDm(felica.ParsePollingResponse), zeroIDm)
	})
	t.Run("RequestService", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.RequestServiceCommand {
			return felica.RequestServiceCommand{IDm: genIDm(r), Nodes: genNodes(r, 1, 32)}
		}, noIDm(felica.ParseRequestServiceCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.RequestServiceResponse {
			return felica.RequestServiceResponse{IDm: genIDm(r), KeyVersions: genU16s(r, 1+r.Intn(32))}
		}, felica.ParseRequestServiceResponse, func(v felica.RequestServiceResponse) felica.IDm { return v.IDm })
		roundTrip(t, func(r *rand.Rand) felica.RequestServiceV2Command {
			return felica.RequestServiceV2Command{IDm: genIDm(r), Nodes: genNodes(r, 1, 32)}
		}, noIDm(felica.ParseRequestServiceV2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.RequestServiceV2Response {
			v := felica.RequestServiceV2Response{IDm: genIDm(r), Status: genStatus(r)}
			if v.Status.OK() {
				n := 1 + r.Intn(32)
				v.EncryptionID = byte(r.Intn(256))
				v.AESKeyVersions = genU16s(r, n)
				if r.Intn(2) == 0 && n <= 30 {
					v.DESKeyVersions = genU16s(r, n)
				}
			}
			return v
		}, felica.ParseRequestServiceV2Response, func(v felica.RequestServiceV2Response) felica.IDm { return v.IDm })
	})
	t.Run("RequestResponse", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.RequestResponseCommand {
			return felica.RequestResponseCommand{IDm: genIDm(r)}
		}, noIDm(felica.ParseRequestResponseCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.RequestResponseResponse {
			return felica.RequestResponseResponse{IDm: genIDm(r), Mode: uint8(r.Intn(4))}
		}, felica.ParseRequestResponseResponse, func(v felica.RequestResponseResponse) felica.IDm { return v.IDm })
	})
	t.Run("Read", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.ReadCommand {
			s := genNodes(r, 1, 16)
			return felica.ReadCommand{IDm: genIDm(r), Services: s, Blocks: genBlocks(r, len(s), 1, 15)}
		}, noIDm(felica.ParseReadCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.ReadResponse {
			v := felica.ReadResponse{IDm: genIDm(r), Status: genStatus(r)}
			if v.Status.OK() {
				v.Data = genBytes(r, 16*(1+r.Intn(15)))
			}
			return v
		}, felica.ParseReadResponse, func(v felica.ReadResponse) felica.IDm { return v.IDm })
	})
	t.Run("Write", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.WriteCommand {
			s := genNodes(r, 1, 4)
			b := genBlocks(r, len(s), 1, 11)
			return felica.WriteCommand{IDm: genIDm(r), Services: s, Blocks: b, Data: genBytes(r, 16*len(b))}
		}, noIDm(felica.ParseWriteCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.WriteResponse {
			return felica.WriteResponse{IDm: genIDm(r), Status: genStatus(r)}
		}, felica.ParseWriteResponse, func(v felica.WriteResponse) felica.IDm { return v.IDm })
	})
	t.Run("SearchServiceCode", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.SearchServiceCodeCommand {
			return felica.SearchServiceCodeCommand{IDm: genIDm(r), Index: uint16(r.Intn(0x10000))}
		}, noIDm(felica.ParseSearchServiceCodeCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.SearchServiceCodeResponse {
			v := felica.SearchServiceCodeResponse{IDm: genIDm(r), Node: felica.NodeCode(r.Intn(0x10000))}
			if v.Node.IsArea() {
				v.End = felica.NodeCode(r.Intn(0x10000))
			}
			return v
		}, felica.ParseSearchServiceCodeResponse, func(v felica.SearchServiceCodeResponse) felica.IDm { return v.IDm })
	})
	t.Run("RequestSystemCode", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.RequestSystemCodeCommand {
			return felica.RequestSystemCodeCommand{IDm: genIDm(r)}
		}, noIDm(felica.ParseRequestSystemCodeCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.RequestSystemCodeResponse {
			v := felica.RequestSystemCodeResponse{IDm: genIDm(r), SystemCodes: make([]felica.SystemCode, 1+r.Intn(8))}
			for i := range v.SystemCodes {
				v.SystemCodes[i] = felica.SystemCode(r.Intn(0x10000))
			}
			return v
		}, felica.ParseRequestSystemCodeResponse, func(v felica.RequestSystemCodeResponse) felica.IDm { return v.IDm })
	})
	t.Run("Auth", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.Auth1Command {
			v := felica.Auth1Command{IDm: genIDm(r), Areas: genNodes(r, 0, 8), Services: genNodes(r, 1, 8)}
			r.Read(v.Challenge1A[:])
			return v
		}, noIDm(felica.ParseAuth1Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.Auth1Response {
			v := felica.Auth1Response{IDm: genIDm(r)}
			r.Read(v.Challenge1B[:])
			r.Read(v.Challenge2A[:])
			return v
		}, felica.ParseAuth1Response, func(v felica.Auth1Response) felica.IDm { return v.IDm })
		roundTrip(t, func(r *rand.Rand) felica.Auth2Command {
			v := felica.Auth2Command{IDm: genIDm(r)}
			r.Read(v.Challenge2B[:])
			return v
		}, noIDm(felica.ParseAuth2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.Auth2Response {
			var v felica.Auth2Response
			r.Read(v.Encrypted[:])
			return v
		}, noIDm(felica.ParseAuth2Response), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.Auth1V2Command {
			v := felica.Auth1V2Command{IDm: genIDm(r), OpParam: byte(r.Intn(256)), Nodes: genNodes(r, 1, 16)}
			r.Read(v.Challenge1A[:])
			return v
		}, noIDm(felica.ParseAuth1V2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.Auth1V2Response {
			v := felica.Auth1V2Response{IDm: genIDm(r)}
			r.Read(v.Challenge1B[:])
			r.Read(v.Challenge2A[:])
			r.Read(v.Challenge3C[:])
			return v
		}, felica.ParseAuth1V2Response, func(v felica.Auth1V2Response) felica.IDm { return v.IDm })
		roundTrip(t, func(r *rand.Rand) felica.Auth2V2Command {
			v := felica.Auth2V2Command{IDm: genIDm(r)}
			r.Read(v.Challenge2B[:])
			return v
		}, noIDm(felica.ParseAuth2V2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.Auth2V2Response {
			v := felica.Auth2V2Response{Transaction: uint16(r.Intn(0x10000))}
			r.Read(v.Payload[:])
			r.Read(v.MAC[:])
			return v
		}, noIDm(felica.ParseAuth2V2Response), zeroIDm)
	})
	t.Run("SecureV2", func(t *testing.T) {
		genMAC := func(r *rand.Rand) (m [felica.SecureMACSize]byte) { r.Read(m[:]); return m }
		roundTrip(t, func(r *rand.Rand) felica.ReadV2Command {
			return felica.ReadV2Command{Transaction: uint16(r.Intn(0x10000)), Payload: genBytes(r, 3+r.Intn(40)), MAC: genMAC(r)}
		}, noIDm(felica.ParseReadV2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.ReadV2Response {
			return felica.ReadV2Response{Transaction: uint16(r.Intn(0x10000)), Payload: genBytes(r, 2+r.Intn(felica.MaxSecureV2Payload-1)), MAC: genMAC(r)}
		}, noIDm(felica.ParseReadV2Response), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.WriteV2Command {
			return felica.WriteV2Command{Transaction: uint16(r.Intn(0x10000)), Payload: genBytes(r, 19+r.Intn(200)), MAC: genMAC(r)}
		}, noIDm(felica.ParseWriteV2Command), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.WriteV2Response {
			v := felica.WriteV2Response{Transaction: uint16(r.Intn(0x10000)), MAC: genMAC(r)}
			r.Read(v.Payload[:])
			return v
		}, noIDm(felica.ParseWriteV2Response), zeroIDm)
	})
	t.Run("SecureDES", func(t *testing.T) {
		genEnc := func(r *rand.Rand) []byte { return genBytes(r, 8*(2+r.Intn(29))) }
		roundTrip(t, func(r *rand.Rand) felica.ReadDESCommand { return felica.ReadDESCommand{Encrypted: genEnc(r)} },
			noIDm(felica.ParseReadDESCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.ReadDESResponse { return felica.ReadDESResponse{Encrypted: genEnc(r)} },
			noIDm(felica.ParseReadDESResponse), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.WriteDESCommand { return felica.WriteDESCommand{Encrypted: genEnc(r)} },
			noIDm(felica.ParseWriteDESCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.WriteDESResponse { return felica.WriteDESResponse{Encrypted: genEnc(r)} },
			noIDm(felica.ParseWriteDESResponse), zeroIDm)
	})
	t.Run("SpecVersionAndResetMode", func(t *testing.T) {
		roundTrip(t, func(r *rand.Rand) felica.RequestSpecVersionCommand {
			return felica.RequestSpecVersionCommand{IDm: genIDm(r)}
		}, noIDm(felica.ParseRequestSpecVersionCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.RequestSpecVersionResponse {
			v := felica.RequestSpecVersionResponse{IDm: genIDm(r), Status: genStatus(r)}
			if v.Status.OK() {
				v.Format, v.BasicVersion, v.OptionVersions = byte(r.Intn(256)), uint16(r.Intn(0x10000)), genU16s(r, r.Intn(8))
			}
			return v
		}, felica.ParseRequestSpecVersionResponse, func(v felica.RequestSpecVersionResponse) felica.IDm { return v.IDm })
		roundTrip(t, func(r *rand.Rand) felica.ResetModeCommand {
			return felica.ResetModeCommand{IDm: genIDm(r)}
		}, noIDm(felica.ParseResetModeCommand), zeroIDm)
		roundTrip(t, func(r *rand.Rand) felica.ResetModeResponse {
			return felica.ResetModeResponse{IDm: genIDm(r), Status: genStatus(r)}
		}, felica.ParseResetModeResponse, func(v felica.ResetModeResponse) felica.IDm { return v.IDm })
	})
}

// TestRoundTripIDmChecked: every response parser that takes an idm refuses
// a frame built for another.
func TestRoundTripIDmChecked(t *testing.T) {
	other := felica.IDm{0xEE}
	responses := []struct {
		v     appender
		parse func([]byte, felica.Framing, felica.IDm) error
	}{
		{felica.RequestServiceResponse{IDm: testIDm, KeyVersions: []uint16{1}}, ignore(felica.ParseRequestServiceResponse)},
		{felica.RequestServiceV2Response{IDm: testIDm, AESKeyVersions: []uint16{1}}, ignore(felica.ParseRequestServiceV2Response)},
		{felica.RequestResponseResponse{IDm: testIDm}, ignore(felica.ParseRequestResponseResponse)},
		{felica.ReadResponse{IDm: testIDm, Data: make([]byte, 16)}, ignore(felica.ParseReadResponse)},
		{felica.WriteResponse{IDm: testIDm}, ignore(felica.ParseWriteResponse)},
		{felica.SearchServiceCodeResponse{IDm: testIDm}, ignore(felica.ParseSearchServiceCodeResponse)},
		{felica.RequestSystemCodeResponse{IDm: testIDm, SystemCodes: []felica.SystemCode{1}}, ignore(felica.ParseRequestSystemCodeResponse)},
		{felica.Auth1Response{IDm: testIDm}, ignore(felica.ParseAuth1Response)},
		{felica.Auth1V2Response{IDm: testIDm}, ignore(felica.ParseAuth1V2Response)},
		{felica.RequestSpecVersionResponse{IDm: testIDm}, ignore(felica.ParseRequestSpecVersionResponse)},
		{felica.ResetModeResponse{IDm: testIDm}, ignore(felica.ParseResetModeResponse)},
	}
	for _, tc := range responses {
		frame, err := tc.v.Append(nil, felica.WithLEN)
		if err != nil {
			t.Fatalf("%T: %v", tc.v, err)
		}
		if err := tc.parse(frame, felica.WithLEN, testIDm); err != nil {
			t.Errorf("%T with its IDm: %v", tc.v, err)
		}
		if err := tc.parse(frame, felica.WithLEN, other); !errors.Is(err, felica.ErrIDmMismatch) {
			t.Errorf("%T with another IDm: %v, want ErrIDmMismatch", tc.v, err)
		}
	}
}

func ignore[T any](fn func([]byte, felica.Framing, felica.IDm) (T, error)) func([]byte, felica.Framing, felica.IDm) error {
	return func(b []byte, f felica.Framing, id felica.IDm) error { _, err := fn(b, f, id); return err }
}
