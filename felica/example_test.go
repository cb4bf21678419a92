package felica_test

import (
	"encoding/hex"
	"fmt"

	"github.com/tes-project/tes/felica"
)

func mustHex(s string) []byte {
	b, err := hex.DecodeString(s)
	if err != nil {
		panic(err)
	}
	return b
}

// Polling for system 80DE and reading the card's IDm from the answer.
func ExamplePollingCommand() {
	cmd, err := felica.PollingCommand{SystemCode: 0x80DE, RequestCode: felica.RequestSystemCode}.Append(nil, felica.WithLEN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("command  %X\n", cmd)

	resp, err := felica.ParsePollingResponse(mustHex("14010102030405060708FFFFFFFFFFFFFFFF80DE"), felica.WithLEN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("IDm", resp.IDm, "system", felica.SystemCode(resp.RequestData))
	// Output:
	// command  060080DE0100
	// IDm 0102030405060708 system 80DE
}

// Reading two blocks of service 000B, without LEN as iOS sends them, and
// telling a success from an error response.
func ExampleReadCommand() {
	idm, _ := felica.ParseIDm("0102030405060708")
	cmd := felica.ReadCommand{
		IDm:      idm,
		Services: []felica.NodeCode{0x000B},
		Blocks:   []felica.BlockElement{{Block: 0}, {Block: 1}},
	}
	var buf [felica.MaxFrameLen]byte
	frame, err := cmd.Append(buf[:0], felica.WithoutLEN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("command  %X\n", frame)

	answer := mustHex("0C070102030405060708" + "01A6")
	resp, err := felica.ParseReadResponse(answer, felica.WithLEN, idm)
	if err != nil {
		fmt.Println("malformed:", err)
		return
	}
	if err := resp.Status.Err(); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("block 0 %X\n", resp.Block(0))
	// Output:
	// command  060102030405060708010B000280008001
	// felica: card status 01 A6 no-such-service (element 1)
}

// Writing one block of service 0009 and checking the status flags.
func ExampleWriteCommand() {
	idm, _ := felica.ParseIDm("0102030405060708")
	cmd := felica.WriteCommand{
		IDm:      idm,
		Services: []felica.NodeCode{0x0009},
		Blocks:   []felica.BlockElement{{Block: 0}},
		Data:     mustHex("00112233445566778899AABBCCDDEEFF"),
	}
	frame, err := cmd.Append(nil, felica.WithLEN)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(felica.Describe(frame, felica.WithLEN))

	resp, err := felica.ParseWriteResponse(mustHex("0C0901020304050607080000"), felica.WithLEN, idm)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("written:", resp.Status.OK())
	// Output:
	// Write Without Encryption IDm=0102030405060708 services=[0009 random RW no-key] blocks=[0:0] data=[00112233445566778899AABBCCDDEEFF]
	// written: true
}

// Dispatching on a frame's code, as the virtual card does.
func ExamplePeekCode() {
	frame := mustHex("0A0C0102030405060708")
	code, err := felica.PeekCode(frame, felica.WithLEN)
	if err != nil {
		fmt.Println(err)
		return
	}
	switch code {
	case felica.CodeRequestSystemCode:
		cmd, _ := felica.ParseRequestSystemCodeCommand(frame, felica.WithLEN)
		resp, _ := felica.RequestSystemCodeResponse{IDm: cmd.IDm, SystemCodes: []felica.SystemCode{0x80DE}}.Append(nil, felica.WithLEN)
		fmt.Printf("%s -> %X\n", code, resp)
	}
	// Output:
	// Request System Code -> 0D0D01020304050607080180DE
}
