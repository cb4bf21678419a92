package card_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"testing"

	"github.com/tes-project/tes/felica"
	"github.com/tes-project/tes/felica/card"
)

// parseAnswer parses a card's answer with the codec parser of its response code.
func parseAnswer(frame []byte, f felica.Framing, idm felica.IDm) error {
	code, err := felica.PeekCode(frame, f)
	if err != nil {
		return err
	}
	switch code {
	case felica.CodePollingResponse:
		_, err = felica.ParsePollingResponse(frame, f)
	case felica.CodeRequestServiceResponse:
		_, err = felica.ParseRequestServiceResponse(frame, f, idm)
	case felica.CodeRequestResponseResponse:
		_, err = felica.ParseRequestResponseResponse(frame, f, idm)
	case felica.CodeReadResponse:
		_, err = felica.ParseReadResponse(frame, f, idm)
	case felica.CodeWriteResponse:
		_, err = felica.ParseWriteResponse(frame, f, idm)
	case felica.CodeSearchServiceCodeResponse:
		_, err = felica.ParseSearchServiceCodeResponse(frame, f, idm)
	case felica.CodeRequestSystemCodeResponse:
		_, err = felica.ParseRequestSystemCodeResponse(frame, f, idm)
	case felica.CodeRequestSpecVersionResponse:
		_, err = felica.ParseRequestSpecVersionResponse(frame, f, idm)
	case felica.CodeResetModeResponse:
		_, err = felica.ParseResetModeResponse(frame, f, idm)
	case felica.CodeRequestServiceV2Response:
		_, err = felica.ParseRequestServiceV2Response(frame, f, idm)
	case felica.CodeAuth1V2Response:
		_, err = felica.ParseAuth1V2Response(frame, f, idm)
	case felica.CodeAuth2V2Response:
		_, err = felica.ParseAuth2V2Response(frame, f)
	case felica.CodeReadV2Response:
		_, err = felica.ParseReadV2Response(frame, f)
	case felica.CodeWriteV2Response:
		_, err = felica.ParseWriteV2Response(frame, f)
	default:
		return fmt.Errorf("answer with code %s", code)
	}
	return err
}

// FuzzTransceive feeds arbitrary frames to a DEMO card: it never panics, stays silent
// only with ErrNoAnswer, and every answer parses with the codec. withoutLEN picks the
// card's framing.
func FuzzTransceive(f *testing.F) {
	seeds := []string{
		"060080DE0100",
		"0600FFFF0200",
		"0F02 012E4C7A11223344 02 0010 0910",
		"0A04 012E4C7A11223344",
		"1206 012E4C7A11223344 01 0B10 01 8000",
		"1606 012E4C7A11223344 03 8B00 0B10 0F09 03 8000 8100 8207",
		"3208 012E4C7A11223344 02 0910 0D09 02 8000 8100 E8030000070000000000000000000000 01E8030000E80300000700C086FD6A00",
		"0C0A 012E4C7A11223344 0300",
		"0A0C 012E4C7A11223344",
		"0C3C 012E4C7A11223344 0000",
		"0C3E 012E4C7A11223344 0000",
		"1106 012E4C7A11223344 00 01 000001",
	}
	for _, s := range seeds {
		f.Add(unhex(f, s), false)
		f.Add(unhex(f, s)[1:], true)
	}
	cat, err := card.Demo()
	if err != nil {
		f.Fatal(err)
	}
	img, _ := cat.Image(adultIDm)
	f.Fuzz(func(t *testing.T, frame []byte, withoutLEN bool) {
		framing := felica.WithLEN
		if withoutLEN {
			framing = felica.WithoutLEN
		}
		c, err := card.New(cat.Layout, img, card.Settings{Framing: framing, MaxReadBlocks: 8, MaxWriteBlocks: 4})
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Transceive(context.Background(), frame)
		if err != nil {
			if !errors.Is(err, card.ErrNoAnswer) || resp != nil {
				t.Fatalf("Transceive(% X) = % X, %v", frame, resp, err)
			}
			return
		}
		if err := parseAnswer(resp, framing, img.IDm); err != nil {
			t.Fatalf("answer % X to % X does not parse: %v", resp, frame, err)
		}
	})
}

// FuzzTransceiveAES feeds arbitrary pairs of frames to a DEMOAES card with a fixed
// random source, so that a fuzzed second frame can follow a real Authentication1 v2:
// the card never panics, stays silent only with ErrNoAnswer, and every answer parses.
func FuzzTransceiveAES(f *testing.F) {
	const idm = "012E4C7A11224406"
	seeds := [][2]string{
		{"0F32 " + idm + " 02 0810 0C09", "0A04 " + idm},
		{"2040 " + idm + " 00 02 0810 0C09 00112233445566778899AABBCCDDEEFF", "1A42 " + idm + " 00112233445566778899AABBCCDDEEFF"},
		{"2040 " + idm + " 00 02 0810 0C09 00112233445566778899AABBCCDDEEFF", "1144 0100 A60B00F83FC477FB126B837F16"},
		{"0C3E " + idm + " 0000", "1F46 0300 5881EF4A297FAE8DD9DE8A6FFF5F0AFD7BF96292D92ECAFA6F4BAC"},
	}
	for _, s := range seeds {
		f.Add(unhex(f, s[0]), unhex(f, s[1]))
	}
	cat, err := card.DemoAES()
	if err != nil {
		f.Fatal(err)
	}
	img, _ := cat.Image(idm)
	f.Fuzz(func(t *testing.T, first, second []byte) {
		c, err := card.New(cat.Layout, img, card.Settings{Rand: bytes.NewReader(bytes.Repeat([]byte{0x5A}, 64))})
		if err != nil {
			t.Fatal(err)
		}
		for _, frame := range [][]byte{first, second} {
			resp, err := c.Transceive(context.Background(), frame)
			if err != nil {
				if !errors.Is(err, card.ErrNoAnswer) || resp != nil {
					t.Fatalf("Transceive(% X) = % X, %v", frame, resp, err)
				}
				continue
			}
			if err := parseAnswer(resp, felica.WithLEN, img.IDm); err != nil {
				t.Fatalf("answer % X to % X does not parse: %v", resp, frame, err)
			}
		}
	})
}

// FuzzLoad feeds arbitrary text to the catalogue loader: it never panics, and a
// catalogue it accepts makes a card of every image.
func FuzzLoad(f *testing.F) {
	demo, err := os.ReadFile("demo.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demo)
	demoAES, err := os.ReadFile("demo-aes.json")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(demoAES)
	f.Add([]byte(`{"systemCode":"80DE","pmm":"0000000000000000","areas":[{"areaCode":"0000","endCode":"FFFE","keyVersion":"0000"}],"services":[],"cards":[]}`))
	f.Fuzz(func(t *testing.T, text []byte) {
		cat, err := card.Load(bytes.NewReader(text))
		if err != nil {
			if !errors.Is(err, card.ErrInvalidCatalog) {
				t.Fatalf("Load error %v does not wrap ErrInvalidCatalog", err)
			}
			return
		}
		for _, img := range cat.Cards {
			if _, err := card.New(cat.Layout, img, card.Settings{}); err != nil {
				t.Fatalf("loaded image %s does not make a card: %v", img.IDm, err)
			}
		}
	})
}
